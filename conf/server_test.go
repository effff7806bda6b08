package conf

import (
	"reflect"
	"testing"
)

func TestParseServer(t *testing.T) {
	cases := []struct {
		in   string
		want Server
		text string // String() form
	}{
		{"zk1:2888:3888", Server{Host: "zk1", PeerPort: 2888, ElectionPort: 3888, Role: RoleParticipant},
			"zk1:2888:3888:participant"},
		{" zk1 : 2888 : 3888 : Observer ", Server{Host: "zk1", PeerPort: 2888, ElectionPort: 3888, Role: RoleObserver},
			"zk1:2888:3888:observer"},
		{"zk1:2888:3888;2181", Server{Host: "zk1", PeerPort: 2888, ElectionPort: 3888, Role: RoleParticipant, ClientPort: 2181},
			"zk1:2888:3888:participant;2181"},
		{"zk1:2888:3888:participant;0.0.0.0:2181",
			Server{Host: "zk1", PeerPort: 2888, ElectionPort: 3888, Role: RoleParticipant, ClientHost: "0.0.0.0", ClientPort: 2181},
			"zk1:2888:3888:participant;0.0.0.0:2181"},
		{"[::1]:2888:3888;[::1]:2181",
			Server{Host: "::1", PeerPort: 2888, ElectionPort: 3888, Role: RoleParticipant, ClientHost: "::1", ClientPort: 2181},
			"[::1]:2888:3888:participant;[::1]:2181"},
	}
	for _, tc := range cases {
		got, err := parseServer(0, tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) || got.String() != tc.text {
			t.Errorf("%q: got %+v %q", tc.in, got, got.String())
		}
		back, err := parseServer(0, got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("%q does not read back: %+v %v", got.String(), back, err)
		}
	}
}

func TestParseServerErrors(t *testing.T) {
	for in, want := range map[string]string{
		"zk1":                  `"zk1" is not of the form ` + serverForm,
		"zk1:2888":             `"zk1:2888" is not of the form ` + serverForm,
		":2888:3888":           `":2888:3888" is not of the form ` + serverForm,
		"zk1:1:2:3:4":          `"zk1:1:2:3:4" is not of the form ` + serverForm,
		"[::1:2888:3888":       `"[::1:2888:3888" is not of the form ` + serverForm,
		"zk1:x:3888":           `peer port: "x" is not a port number (1-65535)`,
		"zk1:2888:99999":       `election port: "99999" is not a port number (1-65535)`,
		"zk1:2888:3888:boss":   `role "boss" is neither participant nor observer`,
		"zk1:2888:3888;x":      `client port: "x" is not a port number (1-65535)`,
		"zk1:2888:3888;h:1:2":  `client address "h:1:2" is not [host:]port`,
		"a:1:2|b:1:2":          `"a:1:2|b:1:2" lists several addresses; multiAddress is not supported`,
		"zk1:2888:3888;h:0":    `client port: "0" is not a port number (1-65535)`,
		"zk1:2888:3888:;2181":  `role "" is neither participant nor observer`,
		"zk1:2888:3888;[::1]x": `client address "[::1]x" is not [host:]port`,
	} {
		_, err := parseServer(1, in)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v want %s", in, err, want)
		}
	}
}
