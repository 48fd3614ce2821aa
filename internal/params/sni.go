package params

import (
	"net/netip"
	"strings"
)

// SNIHostName is what a client puts in server_name for ServerName, or ""
// to leave the extension out. RFC 6066 §3 allows neither an IP literal
// (with or without brackets and zone) nor a trailing dot in a HostName;
// the name the certificate is checked against stays ServerName.
func (p *Params) SNIHostName() string {
	name := p.ServerName
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		name = name[1 : len(name)-1]
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return ""
	}
	return strings.TrimSuffix(p.ServerName, ".")
}
