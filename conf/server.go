package conf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Server roles in a server.N line.
const (
	RoleParticipant = "participant"
	RoleObserver    = "observer"
)

// Server is one ensemble member, from a line
// server.N=host:peerPort:electionPort[:role][;[clientHost:]clientPort].
type Server struct {
	ID                     int64
	Host                   string
	PeerPort, ElectionPort int
	Role                   string // RoleParticipant or RoleObserver
	ClientHost             string // "" = all interfaces
	ClientPort             int    // 0 = not given on the server line
}

// String gives the value part of the server.N line, in ZooKeeper's order.
func (s Server) String() string {
	out := fmt.Sprintf("%s:%d:%d:%s", bracket(s.Host), s.PeerPort, s.ElectionPort, s.Role)
	if s.ClientPort == 0 {
		return out
	}
	if s.ClientHost == "" {
		return fmt.Sprintf("%s;%d", out, s.ClientPort)
	}
	return fmt.Sprintf("%s;%s:%d", out, bracket(s.ClientHost), s.ClientPort)
}

// Voting reports whether the server takes part in elections and quorums.
func (s Server) Voting() bool { return s.Role == RoleParticipant }

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

const serverForm = "host:peerPort:electionPort[:participant|observer][;[clientHost:]clientPort]"

// parseServerID reads N out of a "server.N" key.
func parseServerID(key string) (int64, error) {
	n := key[len("server."):]
	id, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("%q is not a server id (a whole number, 0 or more)", n)
	}
	return id, nil
}

// parseServer reads the value of a server.N line.
func parseServer(id int64, value string) (Server, error) {
	bad := fmt.Errorf("%q is not of the form %s", value, serverForm)
	addr, client, hasClient := strings.Cut(value, ";")
	if strings.Contains(addr, "|") {
		return Server{}, fmt.Errorf("%q lists several addresses; multiAddress is not supported", value)
	}
	host, parts, err := splitHost(strings.TrimSpace(addr))
	if err != nil || host == "" || len(parts) < 2 || len(parts) > 3 {
		return Server{}, bad
	}
	s := Server{ID: id, Host: host, Role: RoleParticipant}
	if s.PeerPort, err = parsePort(parts[0], false); err != nil {
		return Server{}, fmt.Errorf("peer port: %w", err)
	}
	if s.ElectionPort, err = parsePort(parts[1], false); err != nil {
		return Server{}, fmt.Errorf("election port: %w", err)
	}
	if len(parts) == 3 {
		s.Role = strings.ToLower(strings.TrimSpace(parts[2]))
		if s.Role != RoleParticipant && s.Role != RoleObserver {
			return Server{}, fmt.Errorf("role %q is neither %s nor %s", parts[2], RoleParticipant, RoleObserver)
		}
	}
	if hasClient {
		if s.ClientHost, s.ClientPort, err = parseClientAddr(strings.TrimSpace(client)); err != nil {
			return Server{}, err
		}
	}
	return s, nil
}

// parseClientAddr reads "[host:]port" after the ';' of a server line.
func parseClientAddr(s string) (string, int, error) {
	if !strings.Contains(s, ":") {
		p, err := parsePort(s, false)
		if err != nil {
			return "", 0, fmt.Errorf("client port: %w", err)
		}
		return "", p, nil
	}
	host, parts, err := splitHost(s)
	if err != nil || len(parts) != 1 {
		return "", 0, fmt.Errorf("client address %q is not [host:]port", s)
	}
	p, err := parsePort(parts[0], false)
	if err != nil {
		return "", 0, fmt.Errorf("client port: %w", err)
	}
	return host, p, nil
}

// splitHost splits "host:a:b" or "[v6]:a:b" into the host and the rest.
func splitHost(s string) (string, []string, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", nil, errors.New("unclosed [")
		}
		return s[1:end], strings.Split(s[end+2:], ":"), nil
	}
	parts := strings.Split(s, ":")
	return strings.TrimSpace(parts[0]), parts[1:], nil
}

// parsePort reads a TCP port; zeroOK allows 0 ("let the system pick").
func parsePort(s string, zeroOK bool) (int, error) {
	s = strings.TrimSpace(s)
	p, err := strconv.Atoi(s)
	lo := 1
	if zeroOK {
		lo = 0
	}
	if err != nil || p < lo || p > 65535 {
		return 0, fmt.Errorf("%q is not a port number (%d-65535)", s, lo)
	}
	return p, nil
}
