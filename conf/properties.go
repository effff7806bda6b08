package conf

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// property is one key=value pair of a Java properties file, in file order.
type property struct {
	Key, Value string
	Line       int // 1-based line where the logical line starts
}

func (p property) String() string { return fmt.Sprintf("%d:%s=%s", p.Line, p.Key, p.Value) }

// parseProperties reads the java.util.Properties text format, which is what
// ZooKeeper's zoo.cfg is: comments start with # or !, a line ending in an odd
// number of backslashes continues on the next one, the key ends at the first
// unescaped '=', ':' or blank, and backslash escapes apply to keys and values.
// Values are trimmed because ZooKeeper trims them before use.
func parseProperties(text string) ([]property, error) {
	lines := splitLines(text)
	var out []property
	for i := 0; i < len(lines); i++ {
		start := i
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue // a comment line never continues, even with a trailing backslash
		}
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if continues(line) {
			line = line[:len(line)-1] // a continuation at end of file is dropped, as Java does
		}
		p, err := splitProperty(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start+1, err)
		}
		p.Line = start + 1
		out = append(out, p)
	}
	return out, nil
}

// splitLines splits on \n, \r and \r\n, the three line terminators Java accepts.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// continues reports whether the line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty separates one logical line into its unescaped key and value.
func splitProperty(line string) (property, error) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++ // the escaped character belongs to the key
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	rest := strings.TrimLeft(line[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescape(line[:end])
	if err != nil {
		return property{}, err
	}
	value, err := unescape(rest)
	if err != nil {
		return property{}, err
	}
	return property{Key: key, Value: strings.TrimSpace(value)}, nil
}

// unescape applies the properties escapes: \t \n \r \f, \uXXXX, and \x = x.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx escape in %q", s)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// escapeKey and escapeValue make text that parseProperties reads back unchanged.
func escapeKey(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "=", `\=`, ":", `\:`, " ", `\ `, "#", `\#`, "!", `\!`,
		"\t", `\t`, "\n", `\n`, "\r", `\r`, "\f", `\f`)
	return r.Replace(s)
}

func escapeValue(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\f", `\f`)
	return r.Replace(s)
}

// propertiesCodec lets viper read and write zoo.cfg. Viper lower-cases keys
// after decoding, so the codec remembers how each key was spelled (for
// messages) and which keys the file set more than once.
type propertiesCodec struct {
	spelling map[string]string // lower-case key -> key as written
	warnings []string
}

func (pc *propertiesCodec) Decode(b []byte, v map[string]any) error {
	props, err := parseProperties(string(b))
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, p := range props {
		low := strings.ToLower(p.Key)
		if line, dup := seen[low]; dup {
			pc.warnings = append(pc.warnings, fmt.Sprintf(
				"%s: set on line %d and again on line %d; the last value wins", p.Key, line, p.Line))
			delete(v, pc.spelling[low]) // keep one entry per lower-cased key
		}
		seen[low] = p.Line
		pc.spelling[low] = p.Key
		v[p.Key] = p.Value
	}
	return nil
}

func (pc *propertiesCodec) Encode(v map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", escapeKey(k), escapeValue(valueString(v[k])))
	}
	return []byte(b.String()), nil
}

// spellingCodec wraps another codec (YAML, JSON) to remember key spellings;
// nested maps are recorded under their dotted path, the form zoo.cfg uses.
type spellingCodec struct {
	inner    codec
	spelling map[string]string
}

type codec interface {
	Encode(v map[string]any) ([]byte, error)
	Decode(b []byte, v map[string]any) error
}

func (sc *spellingCodec) Encode(v map[string]any) ([]byte, error) { return sc.inner.Encode(v) }

func (sc *spellingCodec) Decode(b []byte, v map[string]any) error {
	if err := sc.inner.Decode(b, v); err != nil {
		return err
	}
	sc.record("", v)
	return nil
}

func (sc *spellingCodec) record(prefix string, m map[string]any) {
	for k, val := range m {
		full := prefix + k
		if sub, ok := val.(map[string]any); ok {
			sc.record(full+".", sub)
			continue
		}
		sc.spelling[strings.ToLower(full)] = full
	}
}

// valueString renders a decoded value (string, number, bool, list) as the
// text a properties file would hold; lists become comma-separated.
func valueString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = valueString(e)
		}
		return strings.Join(parts, ",")
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	default:
		return fmt.Sprint(t)
	}
}
