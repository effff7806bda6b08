package client

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/zabkeeper/zabkeeper/jute"
)

// Dialer opens one TCP (or TCP-like) connection to a server. Supplying one
// lets an application add TLS or a proxy, and lets tests cut connections.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Option configures Connect.
type Option func(*config)

type authInfo struct {
	scheme string
	cred   []byte
}

type config struct {
	sessionTimeout time.Duration
	dialTimeout    time.Duration
	backoffMin     time.Duration
	backoffMax     time.Duration
	maxBuffer      int
	chroot         string
	auth           []authInfo
	logger         *zap.Logger
	dialer         Dialer
	seed           int64
}

func defaultConfig() config {
	d := &net.Dialer{}
	return config{
		sessionTimeout: 10 * time.Second,
		dialTimeout:    5 * time.Second,
		backoffMin:     20 * time.Millisecond,
		backoffMax:     2 * time.Second,
		maxBuffer:      jute.MaxBuffer,
		logger:         zap.NewNop(),
		dialer:         d.DialContext,
		seed:           time.Now().UnixNano(),
	}
}

// WithSessionTimeout is the requested session timeout; the server clamps it
// into its [min, max] range and the negotiated value drives pings and expiry.
func WithSessionTimeout(d time.Duration) Option { return func(c *config) { c.sessionTimeout = d } }

// WithChroot makes every path relative to p ("/app"): requests are prefixed,
// and created paths and event paths come back stripped.
func WithChroot(p string) Option { return func(c *config) { c.chroot = strings.TrimSuffix(p, "/") } }

// WithAuth adds a credential sent after every (re)connect, like AddAuth.
func WithAuth(scheme string, cred []byte) Option {
	return func(c *config) { c.auth = append(c.auth, authInfo{scheme, cred}) }
}

// WithLogger logs connection changes; the default logs nothing.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithDialTimeout bounds one TCP connect plus handshake.
func WithDialTimeout(d time.Duration) Option { return func(c *config) { c.dialTimeout = d } }

// WithBackoff sets the pause between failed connection attempts: it starts
// at min, doubles up to max, and resets after a successful handshake.
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithMaxBufferSize is the largest frame accepted from a server (jute.maxbuffer);
// a bigger frame drops the connection, as in the Java client.
func WithMaxBufferSize(n int) Option { return func(c *config) { c.maxBuffer = n } }

// WithDialer replaces the default net.Dialer.
func WithDialer(d Dialer) Option {
	return func(c *config) {
		if d != nil {
			c.dialer = d
		}
	}
}

// WithSeed fixes the seed that shuffles the server list and jitters backoff.
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// ParseConnectString splits a ZooKeeper connection string,
// "h1:2181,h2:2181/chroot", into servers and an optional chroot ("" if none).
// A host without a port gets 2181.
func ParseConnectString(s string) (servers []string, chroot string, err error) {
	hosts := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		hosts, chroot = s[:i], strings.TrimSuffix(s[i:], "/")
		if chroot != "" {
			if err := validatePath(chroot, false); err != nil {
				return nil, "", fmt.Errorf("client: chroot %q: %w", chroot, err)
			}
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(h, "2181")
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("client: no servers in %q: %w", s, jute.ErrBadArguments)
	}
	return servers, chroot, nil
}
