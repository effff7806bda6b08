package conf

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// keyDelimiter replaces viper's "." so that dotted zoo.cfg keys
// (server.1, autopurge.purgeInterval) stay single keys.
const keyDelimiter = "::"

// Sources other than files, as they appear in messages.
const (
	fromEnv       = "environment"
	fromOverrides = "overrides"
)

// entry is one setting from one layer.
type entry struct {
	canon   string // canonical key, e.g. tickTime or server.3
	spelled string // as written there (ZABKEEPER_TICKTIME for the environment)
	value   string
	where   string // file path, fromEnv or fromOverrides
}

type loader struct {
	c        *Config
	entries  map[string]entry // lower-case canonical key -> the winning entry
	warnings []string
	errs     []error
}

// Load builds the configuration from the file at path ("" = none), then the
// ZABKEEPER_* variables in env (KEY=VALUE strings, as os.Environ gives them),
// then overrides (key -> value, e.g. from flags). Each layer wins over the one
// before, and all over Default(). Warnings (unknown keys, values ZooKeeper
// would also adjust) are returned for the caller to log; any bad value or
// inconsistency is an error, and the server must not start.
func Load(path string, env []string, overrides map[string]string) (*Config, []string, error) {
	l := &loader{c: Default(), entries: map[string]entry{}}
	l.c.File = path
	l.c.from = map[string]origin{}
	if path != "" {
		if err := l.readFile(path); err != nil {
			return nil, l.warnings, err
		}
	}
	l.readEnv(env)
	l.readOverrides(overrides)
	l.apply()
	if len(l.errs) == 0 {
		l.derive()
	}
	if len(l.errs) == 0 {
		if err := l.c.Validate(); err != nil {
			l.errs = append(l.errs, err)
		}
	}
	if len(l.errs) > 0 {
		return nil, l.warnings, errors.Join(l.errs...)
	}
	return l.c, l.warnings, nil
}

// readFile decodes a zoo.cfg (properties) or YAML/JSON file through viper.
func (l *loader) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: cannot read configuration: %w", path, err)
	}
	format := formatOf(path)
	spelling := map[string]string{}
	props := &propertiesCodec{spelling: spelling}
	reg := viper.NewCodecRegistry()
	if format == "properties" {
		if err := reg.RegisterCodec(format, props); err != nil {
			return err
		}
	} else {
		inner, err := reg.Decoder(format)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		enc, _ := reg.Encoder(format)
		c := &spellingCodec{inner: struct {
			viper.Encoder
			viper.Decoder
		}{enc, inner}, spelling: spelling}
		if err := reg.RegisterCodec(format, c); err != nil {
			return err
		}
	}
	v := viper.NewWithOptions(viper.KeyDelimiter(keyDelimiter), viper.WithCodecRegistry(reg))
	v.SetConfigType(format)
	if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: cannot parse %s: %w", path, format, err)
	}
	for _, w := range props.warnings {
		l.warnings = append(l.warnings, path+": "+w)
	}
	flat := map[string]string{}
	flatten("", v.AllSettings(), flat)
	keys := sortedKeys(flat)
	for _, low := range keys {
		spelled := spelling[low]
		if spelled == "" {
			spelled = low
		}
		l.add(spelled, spelled, flat[low], path)
	}
	return nil
}

// formatOf picks the decoder by extension; anything that is not YAML or JSON
// is a properties file (zoo.cfg, zoo.cfg.dynamic, *.properties).
func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return "yaml"
	case ".json":
		return "json"
	}
	return "properties"
}

// flatten turns viper's nested maps back into dotted keys.
func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		out[prefix+k] = valueString(v)
	}
}

// readEnv takes ZABKEEPER_<KEY> variables; an empty value counts as unset.
func (l *loader) readEnv(env []string) {
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		name = strings.ToUpper(name)
		if !strings.HasPrefix(name, "ZABKEEPER_") || value == "" || name == "ZABKEEPER_CONFIG" {
			continue
		}
		key, ok := envIndex[name]
		if id, isServer := strings.CutPrefix(name, "ZABKEEPER_SERVER_"); isServer {
			key, ok = "server."+id, true
		}
		if !ok {
			l.warnings = append(l.warnings, fmt.Sprintf("%s: %s: unknown key, ignored", fromEnv, name))
			l.c.Unknown = append(l.c.Unknown, name)
			continue
		}
		l.add(key, name, strings.TrimSpace(value), fromEnv)
	}
}

func (l *loader) readOverrides(overrides map[string]string) {
	for _, k := range sortedKeys(overrides) {
		l.add(k, k, strings.TrimSpace(overrides[k]), fromOverrides)
	}
}

// add files one setting under its canonical key, replacing a lower layer's.
func (l *loader) add(key, spelled, value, where string) {
	kind, canon := classify(key)
	switch kind {
	case kindUnknown:
		l.warnings = append(l.warnings, fmt.Sprintf("%s: %s: unknown key, ignored", where, spelled))
		l.c.Unknown = append(l.c.Unknown, spelled)
	case kindIgnored:
		if !contains(l.c.Ignored, canon) {
			l.c.Ignored = append(l.c.Ignored, canon)
		}
	default:
		l.entries[strings.ToLower(canon)] = entry{canon: canon, spelled: spelled, value: value, where: where}
	}
}

// apply parses every winning entry into the config.
func (l *loader) apply() {
	for _, low := range sortedKeys(l.entries) {
		e := l.entries[low]
		l.c.from[e.canon] = origin{where: e.where, key: e.spelled}
		if err := l.set(e); err != nil {
			l.errs = append(l.errs, &Error{Where: e.where, Key: e.spelled, Msg: err.Error()})
		}
	}
	sort.Strings(l.c.Ignored)
}

func (l *loader) set(e entry) error {
	if set, ok := setters[e.canon]; ok {
		return set(l.c, e.value)
	}
	id, err := parseServerID(e.canon)
	if err != nil {
		return err
	}
	s, err := parseServer(id, e.value)
	if err != nil {
		return err
	}
	for _, old := range l.c.Servers {
		if old.ID == id {
			return fmt.Errorf("server id %d is listed twice", id)
		}
	}
	l.c.Servers = append(l.c.Servers, s)
	return nil
}

// derive fills values that depend on others: session timeouts from tickTime,
// dataLogDir from dataDir, this server's id and client address.
func (l *loader) derive() {
	c := l.c
	sort.Slice(c.Servers, func(i, j int) bool { return c.Servers[i].ID < c.Servers[j].ID })
	// ZooKeeper treats an unset or -1 session bound as "derive from tickTime".
	if !c.isSet(KeyMinSessionTimeout) || c.MinSessionTimeout == -time.Millisecond {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if !c.isSet(KeyMaxSessionTimeout) || c.MaxSessionTimeout == -time.Millisecond {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if !c.isSet(KeyDataLogDir) || c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	l.clamp()
	for _, w := range c.FourLetterWords {
		if w != "*" && !fourLetterWords[w] {
			e := c.errorf(Key4lwWhitelist, "unknown command %q, ignored", w)
			l.warnings = append(l.warnings, e.Error())
		}
	}
	if !c.isSet(KeyMyID) && !c.Standalone() {
		if err := l.readMyID(); err != nil {
			l.errs = append(l.errs, err)
			return
		}
	}
	if err := l.selfClientAddr(); err != nil {
		l.errs = append(l.errs, err)
	}
}

// clamp raises snapCount and snapRetainCount to their minimums with a
// warning, as ZooKeeper does, rather than refusing the file.
func (l *loader) clamp() {
	c := l.c
	if c.SnapCount < 2 && c.isSet(KeySnapCount) {
		l.warnings = append(l.warnings, c.errorf(KeySnapCount, "%d is below 2; using 2", c.SnapCount).Error())
		c.SnapCount = 2
	}
	if c.SnapRetainCount < 3 && c.isSet(KeySnapRetainCount) {
		l.warnings = append(l.warnings, c.errorf(KeySnapRetainCount, "%d is below 3; using 3", c.SnapRetainCount).Error())
		c.SnapRetainCount = 3
	}
}

// readMyID reads <dataDir>/myid, ZooKeeper's file holding this server's id.
func (l *loader) readMyID() error {
	path := filepath.Join(l.c.DataDir, "myid")
	data, err := os.ReadFile(path)
	if err != nil {
		return &Error{Where: path, Key: KeyMyID, Msg: fmt.Sprintf(
			"cannot read this server's id (needed because the configuration lists server.N lines; "+
				"write the id into this file or set %s): %v", KeyMyID, err)}
	}
	text := strings.TrimSpace(string(data))
	id, err := strconv.ParseInt(text, 10, 64)
	if err != nil || id < 0 {
		return &Error{Where: path, Key: KeyMyID, Msg: fmt.Sprintf("%q is not a server id (a whole number, 0 or more)", text)}
	}
	l.c.MyID = id
	l.c.from[KeyMyID] = origin{where: path, key: KeyMyID}
	return nil
}

// selfClientAddr takes the client address from this server's line when
// clientPort is not set; when both are set they must agree.
func (l *loader) selfClientAddr() error {
	c := l.c
	self, ok := c.Self()
	if !ok || self.ClientPort == 0 {
		return nil
	}
	if !c.isSet(KeyClientPort) {
		c.ClientPort = self.ClientPort
		if !c.isSet(KeyClientPortAddress) {
			c.ClientPortAddress = self.ClientHost
		}
		return nil
	}
	if c.ClientPort != self.ClientPort {
		return c.errorf(KeyClientPort, "%d differs from the client port %d on this server's line server.%d",
			c.ClientPort, self.ClientPort, self.ID)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
