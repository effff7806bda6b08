package tree

import (
	"strings"
	"unicode/utf8"

	"github.com/zabkeeper/zabkeeper/jute"
)

// ValidatePath applies ZooKeeper's path rules (protocol notes 8.6):
// absolute, no trailing "/" except the root, no empty, "." or ".." segment,
// no control or private-use characters. Any violation is ErrBadArguments.
func ValidatePath(p string) error {
	if p == "" || p[0] != '/' {
		return jute.ErrBadArguments
	}
	if p == "/" {
		return nil
	}
	if p[len(p)-1] == '/' {
		return jute.ErrBadArguments
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return jute.ErrBadArguments
		}
	}
	for i, w := 0, 0; i < len(p); i += w {
		var r rune
		r, w = utf8.DecodeRuneInString(p[i:])
		if badPathRune(r) {
			return jute.ErrBadArguments
		}
	}
	return nil
}

func badPathRune(r rune) bool {
	return r == 0 ||
		(r >= 0x01 && r <= 0x1f) ||
		(r >= 0x7f && r <= 0x9f) ||
		(r >= 0xd800 && r <= 0xf8ff) ||
		(r >= 0xfff0 && r <= 0xffff)
}

// splitParent returns the parent path and the child name the way ZooKeeper
// does for create and delete: everything before the last "/" (the root for
// top-level names). ok is false when p has no "/" at all.
func splitParent(p string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	if i == 0 {
		return "/", p[1:], true
	}
	return p[:i], p[i+1:], true
}

// isSystemPath reports the four nodes that can never be deleted (8.8).
func isSystemPath(p string) bool {
	switch p {
	case "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config":
		return true
	}
	return false
}
