package main

// Text forms follow zkCli.sh, so scripts written against it keep working;
// JSON forms use the same field names, one object per line.

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zabkeeper/zabkeeper/client"
	"github.com/zabkeeper/zabkeeper/jute"
)

// statJSON is a Stat under zkCli's names; zxids and the owner are hex strings.
type statJSON struct {
	CZxid          string `json:"cZxid"`
	Ctime          int64  `json:"ctime"`
	MZxid          string `json:"mZxid"`
	Mtime          int64  `json:"mtime"`
	PZxid          string `json:"pZxid"`
	Cversion       int32  `json:"cversion"`
	DataVersion    int32  `json:"dataVersion"`
	ACLVersion     int32  `json:"aclVersion"`
	EphemeralOwner string `json:"ephemeralOwner"`
	DataLength     int32  `json:"dataLength"`
	NumChildren    int32  `json:"numChildren"`
}

func hex64(v int64) string { return fmt.Sprintf("0x%x", v) }

func statOf(s jute.Stat) *statJSON {
	return &statJSON{CZxid: hex64(s.Czxid), Ctime: s.Ctime, MZxid: hex64(s.Mzxid), Mtime: s.Mtime,
		PZxid: hex64(s.Pzxid), Cversion: s.Cversion, DataVersion: s.Version, ACLVersion: s.Aversion,
		EphemeralOwner: hex64(s.EphemeralOwner), DataLength: s.DataLength, NumChildren: s.NumChildren}
}

// javaDate prints ms since the epoch like java.util.Date.toString.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// writeStat prints the lines of zkCli's "stat" and "get -s".
func writeStat(w io.Writer, s jute.Stat) {
	fmt.Fprintf(w, "cZxid = %s\nctime = %s\nmZxid = %s\nmtime = %s\npZxid = %s\n",
		hex64(s.Czxid), javaDate(s.Ctime), hex64(s.Mzxid), javaDate(s.Mtime), hex64(s.Pzxid))
	fmt.Fprintf(w, "cversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = %s\ndataLength = %d\nnumChildren = %d\n",
		s.Cversion, s.Version, s.Aversion, hex64(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

// nodeJSON is the JSON result of get, set, stat, create and ls.
type nodeJSON struct {
	Path       string    `json:"path"`
	Data       *string   `json:"data,omitempty"`
	DataBase64 *string   `json:"data_base64,omitempty"` // instead of data when it is not UTF-8
	Children   *[]string `json:"children,omitempty"`
	Stat       *statJSON `json:"stat,omitempty"`
}

// withData sets data, or data_base64 for bytes that are not text.
func (n *nodeJSON) withData(b []byte) *nodeJSON {
	if utf8.Valid(b) {
		s := string(b)
		n.Data = &s
	} else {
		s := base64.StdEncoding.EncodeToString(b)
		n.DataBase64 = &s
	}
	return n
}

// eventJSON is one watch notification.
type eventJSON struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Zxid string `json:"zxid,omitempty"`
}

func eventOf(ev client.Event) eventJSON {
	j := eventJSON{Type: ev.Type.String(), Path: ev.Path}
	if ev.Zxid >= 0 {
		j.Zxid = hex64(ev.Zxid)
	}
	return j
}

// eventText is "NodeDataChanged /a/b zxid=0x100000005" (no zxid when the
// server did not send one).
func eventText(ev client.Event) string {
	if ev.Zxid < 0 {
		return ev.Type.String() + " " + ev.Path
	}
	return fmt.Sprintf("%s %s zxid=%s", ev.Type, ev.Path, hex64(ev.Zxid))
}

// parseACL reads zkCli's ACL syntax: scheme:id:perms[,scheme:id:perms...].
// The id may itself hold colons (digest:bob:HASH:cdrwa), so the scheme ends
// at the first colon and the perms start after the last one.
func parseACL(s string) ([]jute.ACL, error) {
	var out []jute.ACL
	for _, part := range strings.Split(s, ",") {
		i, j := strings.IndexByte(part, ':'), strings.LastIndexByte(part, ':')
		if i <= 0 || i == j {
			return nil, fmt.Errorf("ACL entry %q: want scheme:id:perms", part)
		}
		perms, err := parsePerms(part[j+1:])
		if err != nil {
			return nil, fmt.Errorf("ACL entry %q: %v", part, err)
		}
		out = append(out, jute.ACL{Perms: perms, ID: jute.Id{Scheme: part[:i], ID: part[i+1 : j]}})
	}
	return out, nil
}

func parsePerms(s string) (int32, error) {
	var p int32
	for _, r := range s {
		switch r {
		case 'c':
			p |= jute.PermCreate
		case 'd':
			p |= jute.PermDelete
		case 'r':
			p |= jute.PermRead
		case 'w':
			p |= jute.PermWrite
		case 'a':
			p |= jute.PermAdmin
		default:
			return 0, fmt.Errorf("unknown permission %q (want letters of cdrwa)", r)
		}
	}
	if s == "" {
		return 0, fmt.Errorf("no permissions")
	}
	return p, nil
}

// aclJSON is one ACL entry.
type aclJSON struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
	Perms  string `json:"perms"`
}

// writeACL prints zkCli's getAcl form: "'world,'anyone\n: cdrwa".
func writeACL(w io.Writer, acl []jute.ACL) {
	for _, a := range acl {
		fmt.Fprintf(w, "'%s,'%s\n: %s\n", a.ID.Scheme, a.ID.ID, jute.PermString(a.Perms))
	}
}

// listText is zkCli's "[a, b]".
func listText(kids []string) string { return "[" + strings.Join(kids, ", ") + "]" }

// child joins a parent path and a child name.
func childPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}
