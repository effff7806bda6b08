package conf

import (
	"reflect"
	"testing"
)

func TestParseProperties(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // "line:key=value"
	}{
		{"equals", "a=1\nb = 2\n", []string{"1:a=1", "2:b=2"}},
		{"colon", "a:1\nb : 2\n", []string{"1:a=1", "2:b=2"}},
		{"blank separator", "a 1\nb\t\t2\n", []string{"1:a=1", "2:b=2"}},
		{"blank then equals", "a  =  =x\n", []string{"1:a==x"}},
		{"trimmed", "   a=  spaced out  \t\n", []string{"1:a=spaced out"}},
		{"comments", "# c\n! c\n   # indented\n\na=1\n", []string{"5:a=1"}},
		{"comment does not continue", "# c \\\na=1\n", []string{"2:a=1"}},
		{"continuation", "a=x,\\\n   y,\\\n\tz\nb=2\n", []string{"1:a=x,y,z", "4:b=2"}},
		{"even backslashes", "a=x\\\\\nb=2\n", []string{`1:a=x\`, "2:b=2"}},
		{"continuation at eof", "a=x\\", []string{"1:a=x"}},
		{"escaped separators in key", `a\=b\:c\ d=1`, []string{"1:a=b:c d=1"}},
		{"escapes", `a=\u0041\t\\z\q`, []string{"1:a=A\t\\zq"}},
		{"key only", "lonely\nempty=\n", []string{"1:lonely=", "2:empty="}},
		{"crlf and cr", "a=1\r\nb=2\rc=3", []string{"1:a=1", "2:b=2", "3:c=3"}},
		{"server line", "server.1=[::1]:2888:3888;[::1]:2181\n", []string{"1:server.1=[::1]:2888:3888;[::1]:2181"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			props, err := parseProperties(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, p := range props {
				got = append(got, p.String())
			}
			if tc.want == nil {
				tc.want = []string{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestParsePropertiesMalformedEscape(t *testing.T) {
	_, err := parseProperties("a=1\nb=\\u00zz\n")
	if err == nil || err.Error() != `line 2: malformed \uxxxx escape in "\\u00zz"` {
		t.Errorf("err %v", err)
	}
}

func TestPropertiesCodecRoundTrip(t *testing.T) {
	in := map[string]any{"a b": "x=y", "k:1": `back\slash`, "4lw.commands.whitelist": []any{"srvr", "ruok"}, "n": 3}
	pc := &propertiesCodec{spelling: map[string]string{}}
	b, err := pc.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := pc.Decode(b, out); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a b": "x=y", "k:1": `back\slash`, "4lw.commands.whitelist": "srvr,ruok", "n": "3"}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("round trip %q -> %q", b, out)
	}
}
