package client

import (
	"fmt"
	"strings"

	"github.com/zabkeeper/zabkeeper/jute"
)

// validatePath applies ZooKeeper's client-side path rules: absolute, no empty,
// "." or ".." segments, no trailing slash (except for a sequential create,
// whose name the server completes), no NUL.
func validatePath(p string, sequential bool) error {
	if p == "" || p[0] != '/' {
		return fmt.Errorf("path %q must start with /: %w", p, jute.ErrBadArguments)
	}
	if p == "/" {
		return nil
	}
	body := p[1:]
	if strings.HasSuffix(p, "/") {
		if !sequential {
			return fmt.Errorf("path %q must not end with /: %w", p, jute.ErrBadArguments)
		}
		body = strings.TrimSuffix(body, "/")
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q contains NUL: %w", p, jute.ErrBadArguments)
	}
	for _, seg := range strings.Split(body, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path %q has an invalid segment %q: %w", p, seg, jute.ErrBadArguments)
		}
	}
	return nil
}

// serverPath prefixes the chroot.
func (c *Client) serverPath(p string) string {
	if c.cfg.chroot == "" {
		return p
	}
	if p == "/" {
		return c.cfg.chroot
	}
	return c.cfg.chroot + p
}

// clientPath strips the chroot from a path the server sent.
func (c *Client) clientPath(p string) string {
	root := c.cfg.chroot
	if root == "" {
		return p
	}
	if p == root {
		return "/"
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):]
	}
	return p
}

// checked validates p and returns its server form.
func (c *Client) checked(p string, sequential bool) (string, error) {
	if err := validatePath(p, sequential); err != nil {
		return "", err
	}
	return c.serverPath(p), nil
}
