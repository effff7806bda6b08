package tree

import (
	"testing"

	"github.com/zabkeeper/zabkeeper/jute"
)

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/a", true},
		{"/a/b/c", true},
		{"/a.b/..c/...", true},
		{"/zookeeper/quota", true},
		{"/ünïcode/日本", true},
		{"", false},
		{"a", false},
		{"a/b", false},
		{"/a/", false},
		{"//", false},
		{"/a//b", false},
		{"/.", false},
		{"/a/./b", false},
		{"/a/..", false},
		{"/a\x00b", false},
		{"/a\x01", false},
		{"/a\x1f", false},
		{"/a\x7f", false},
		{"/a\u0085", false},
		{"/a\ue000", false},
		{"/a\ufff0", false},
		{"/a\uffff", false},
		{"/a\u00a0", true},
	} {
		err := ValidatePath(tc.path)
		if tc.ok && err != nil {
			t.Errorf("ValidatePath(%q) = %v, want ok", tc.path, err)
		}
		if !tc.ok && err != jute.ErrBadArguments {
			t.Errorf("ValidatePath(%q) = %v, want BadArguments", tc.path, err)
		}
	}
}
