// Suggested alternate resources: links for the analyst (an IDS console,
// passive DNS, a ticket system), made from URL templates in the
// configuration ("link = NAME=URL") and the hosts, nets and ports found in
// a capture's BPF expression. Nothing is fetched.
//
// The expression is scanned, not compiled: its words are read for the
// primitives that name an address or a port ("host X", "src net N/len",
// "tcp dst port P", "portrange A-B", bare IPv4 and IPv6 addresses), with
// libpcap's rule that an id after "and"/"or" without qualifiers takes the
// ones before it ("host a or b", "port 53 or 80"). What is not one of those
// (MAC addresses after "ether host", "gateway", byte offsets, "mask"
// arithmetic beyond a contiguous IPv4 mask) adds nothing; names are kept
// as written, never resolved.
//
// This header needs neither libpcap nor OpenSSL.
#pragma once

#include "capture/sys/ascii.hpp"
#include "capture/sys/error.hpp"
#include "capture/text/record.hpp"
#include "capture/sys/time_arg.hpp"
#include "capture/sys/time_format.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace capture {

/// One URL template of the configuration: "NAME=URL" with placeholders.
struct link_template {
    std::string name;  ///< what the analyst sees ("ids", "pdns")
    std::string url;   ///< the URL with {host}, {net}, {port}, {start}, {end} ...
};

/// One link made for one capture.
struct resource_link {
    std::string name;
    std::string url;
    friend bool operator==(const resource_link& a, const resource_link& b) {
        return a.name == b.name && a.url == b.url;
    }
};

/// What an expression names, each list in order of appearance, without repeats.
struct expression_terms {
    std::vector<std::string> hosts;  ///< "10.0.0.7", "2001:db8::1", "grantstavely.com"
    std::vector<std::string> nets;   ///< "10.0.0.0/8", "192.168" (as written)
    std::vector<std::string> ports;  ///< "53", "http", "6000-6010" (a portrange)
};

/// The placeholders a template may use.
/// {hash} is a literal '#': the configuration file takes '#' for a comment.
inline constexpr std::array<std::string_view, 8> link_placeholders{"host", "net",         "port",      "start",
                                                                   "end",  "start_epoch", "end_epoch", "hash"};

/// At most this many links are made from one template (hosts x ports).
inline constexpr std::size_t max_links_per_template = 16;

namespace detail {

// Letters, digits, '-', '_' and '.': a host name's characters, and a link name's.
inline bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_ascii_digit(c) || c == '-' || c == '_' || c == '.';
}

inline bool is_ipv4(const std::string& s) {
    in_addr a{};
    return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

inline bool is_ipv6(const std::string& s) {
    in6_addr a{};
    return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// "ADDR/LEN" with an IPv4 or IPv6 address and a length that fits it.
inline bool is_cidr(const std::string& s) {
    auto slash = s.find('/');
    if (slash == std::string::npos || slash + 1 == s.size() || s.size() - slash > 4) return false;
    std::string len = s.substr(slash + 1);
    if (!all_ascii_digits(len)) return false;
    std::string addr = s.substr(0, slash);
    int n = std::stoi(len);
    return (is_ipv4(addr) && n <= 32) || (is_ipv6(addr) && n <= 128);
}

// The prefix length of a contiguous IPv4 mask ("255.255.0.0" is 16), -1 otherwise.
inline int ipv4_mask_length(const std::string& mask) {
    in_addr a{};
    if (::inet_pton(AF_INET, mask.c_str(), &a) != 1) return -1;
    std::uint32_t m = ntohl(a.s_addr);
    int n = 0;
    while (n < 32 && (m & (0x80000000u >> n))) ++n;
    return (n == 32 || (m << n) == 0) ? n : -1;
}

// The words of an expression: runs of anything but blanks and parentheses;
// "&&", "||" and a '!' that is not "!=" are spelled "and", "or", "not".
inline std::vector<std::string> expression_words(std::string_view expr) {
    std::vector<std::string> words;
    std::string word;
    auto end_word = [&] {
        if (!word.empty()) words.push_back(std::move(word));
        word.clear();
    };
    for (std::size_t i = 0; i < expr.size(); ++i) {
        char c = expr[i];
        char next = i + 1 < expr.size() ? expr[i + 1] : '\0';
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')') {
            end_word();
        } else if ((c == '&' && next == '&') || (c == '|' && next == '|')) {
            end_word();
            words.push_back(c == '&' ? "and" : "or");
            ++i;
        } else if (c == '!' && next != '=') {
            end_word();
            words.push_back("not");
        } else {
            word += c;
        }
    }
    end_word();
    return words;
}

inline void add_once(std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

// Words that may stand before an id without changing what it is
// ("src", "tcp dst port", "ip6 host"): they neither end nor start a term.
inline bool is_id_qualifier(const std::string& w) {
    for (const char* q : {"src", "dst", "ip", "ip6", "tcp", "udp", "sctp", "arp", "rarp"})
        if (w == q) return true;
    return false;
}

// An id that "host a or b" lets b inherit: an address or a dotted name.
// A word without a dot may be one of libpcap's keywords ("len", "ip6").
inline bool looks_like_host(const std::string& w) {
    if (is_ipv4(w) || is_ipv6(w)) return true;
    if (w.find('.') == std::string::npos) return false;
    return std::all_of(w.begin(), w.end(), is_name_char);
}

inline bool looks_like_port(const std::string& w) {
    auto dash = w.find('-');
    if (dash == std::string::npos) return all_ascii_digits(w);
    const std::string_view v(w);
    return all_ascii_digits(v.substr(0, dash)) && all_ascii_digits(v.substr(dash + 1));
}

inline bool looks_like_net(const std::string& w) {
    return is_cidr(w) ||
           (!w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return is_ascii_digit(c) || c == '.'; }));
}

}  // namespace detail

/// The hosts, nets and ports an expression names (see the header comment
/// for what is recognised). Throws only std::bad_alloc.
inline expression_terms scan_expression(std::string_view expression) {
    enum class kind { none, host, net, port };
    const std::vector<std::string> words = detail::expression_words(expression);
    expression_terms terms;
    kind last = kind::none;  // the kind of the last id: an id after and/or inherits it
    bool after_connective = false;
    auto add = [&terms](kind k, const std::string& value) {
        if (k == kind::host) detail::add_once(terms.hosts, value);
        if (k == kind::net) detail::add_once(terms.nets, value);
        if (k == kind::port) detail::add_once(terms.ports, value);
    };
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "and" || w == "or") {
            after_connective = true;
            continue;
        }
        if (w == "not" || detail::is_id_qualifier(w)) continue;  // "a or not src b": b still inherits
        bool typed = w == "host" || w == "net" || w == "port" || w == "portrange" || w == "gateway";
        if (!typed) {
            if (after_connective && ((last == kind::host && detail::looks_like_host(w)) ||
                                     (last == kind::net && detail::looks_like_net(w)) ||
                                     (last == kind::port && detail::looks_like_port(w)))) {
                add(last, w);
            } else {
                // A bare id has the default qualifiers: its shape says what it is.
                if (detail::is_cidr(w)) add(kind::net, w);
                else if (detail::is_ipv4(w) || detail::is_ipv6(w)) add(kind::host, w);
                last = kind::none;  // nor is there anything to inherit from arithmetic, "vlan 100" ...
            }
            after_connective = false;
            continue;
        }
        after_connective = false;
        // "ether host", "decnet host" name something else than an IP host;
        // "gateway" needs a name known both as a host and an Ethernet address.
        bool other = w == "gateway" ||
                     (w == "host" && i > 0 && (words[i - 1] == "ether" || words[i - 1] == "fddi" ||
                                               words[i - 1] == "tr" || words[i - 1] == "wlan" ||
                                               words[i - 1] == "decnet"));
        kind k = other ? kind::none : w == "host" ? kind::host : w == "net" ? kind::net : kind::port;
        last = k;
        if (i + 1 >= words.size()) break;
        const std::string& value = words[i + 1];
        if (value == "and" || value == "or" || value == "not") continue;
        ++i;
        if (k == kind::net && i + 2 < words.size() && words[i + 1] == "mask") {
            int len = detail::ipv4_mask_length(words[i + 2]);
            if (len >= 0) add(k, value + "/" + std::to_string(len));
            i += 2;
            continue;
        }
        add(k, value);
    }
    return terms;
}

/// Text with every byte outside RFC 3986's unreserved set (letters,
/// digits, "-._~") written %XX, so a value can go anywhere in a URL.
inline std::string percent_encode(std::string_view text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (detail::is_name_char(static_cast<char>(c)) || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

namespace detail {

// The placeholders url uses, in order, without repeats. Throws usage_error
// for an unknown one or a brace that does not close.
inline std::vector<std::string> placeholders_of(std::string_view url) {
    std::vector<std::string> used;
    for (std::size_t i = 0; i < url.size(); ++i) {
        if (url[i] == '}') throw usage_error("'}' without '{' (write a literal brace as %7D)");
        if (url[i] != '{') continue;
        auto close = url.find('}', i);
        if (close == std::string_view::npos) throw usage_error("'{' without '}' (write a literal brace as %7B)");
        std::string name(url.substr(i + 1, close - i - 1));
        if (std::find(link_placeholders.begin(), link_placeholders.end(), name) == link_placeholders.end())
            throw usage_error("unknown placeholder {" + name +
                              "} (known: {host}, {net}, {port}, {start}, {end}, {start_epoch}, {end_epoch}, {hash})");
        add_once(used, name);
        i = close;
    }
    return used;
}

}  // namespace detail

/// A template from its configuration text "NAME=URL". NAME is letters,
/// digits, '-', '_' or '.'; URL has no blank (it is one word of the links
/// key) and only known placeholders. Throws usage_error saying what is wrong.
inline link_template parse_link_template(std::string_view text) {
    auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0)
        throw usage_error("'" + std::string(text) + "' is not NAME=URL");
    // "ids = https://..." reads as "ids=https://...": the blanks around the
    // '=' are the configuration file's layout, as around the first one.
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    std::string_view name = text.substr(0, eq), url = text.substr(eq + 1);
    while (!name.empty() && blank(name.back())) name.remove_suffix(1);
    while (!url.empty() && blank(url.front())) url.remove_prefix(1);
    if (name.empty()) throw usage_error("'" + std::string(text) + "' is not NAME=URL");
    link_template t{std::string(name), std::string(url)};
    if (!std::all_of(t.name.begin(), t.name.end(), detail::is_name_char))
        throw usage_error("link name '" + t.name + "': only letters, digits, '-', '_' and '.'");
    if (t.url.empty()) throw usage_error("link " + t.name + ": no URL");
    for (unsigned char c : t.url)
        if (c <= ' ' || c == 0x7f) throw usage_error("link " + t.name + ": a blank or control character in the URL");
    try {
        detail::placeholders_of(t.url);
    } catch (const usage_error& e) {
        throw usage_error("link " + t.name + ": " + e.what());
    }
    return t;
}

/// The times links speak of (seconds since the epoch; 0: unknown).
struct link_times {
    std::int64_t start = 0;
    std::int64_t end = 0;
};

/// The links the templates make for terms and times: a template is
/// expanded once for every combination of the values of the placeholders
/// it uses (hosts x nets x ports, at most max_links_per_template), and
/// makes nothing when one of them has no value. Values are percent-encoded.
inline std::vector<resource_link> expand_links(const std::vector<link_template>& templates,
                                               const expression_terms& terms, const link_times& times) {
    std::vector<resource_link> links;
    for (const auto& t : templates) {
        std::vector<std::string> used = detail::placeholders_of(t.url);
        auto uses = [&used](const char* p) { return std::find(used.begin(), used.end(), p) != used.end(); };
        if ((uses("start") || uses("start_epoch")) && !times.start) continue;
        if ((uses("end") || uses("end_epoch")) && !times.end) continue;
        const std::vector<std::string> none{""};
        const auto& hosts = uses("host") ? terms.hosts : none;
        const auto& nets = uses("net") ? terms.nets : none;
        const auto& ports = uses("port") ? terms.ports : none;
        std::size_t made = 0;
        for (const auto& host : hosts)
            for (const auto& net : nets)
                for (const auto& port : ports) {
                    if (made == max_links_per_template) break;
                    ++made;
                    std::string url;
                    for (std::size_t i = 0; i < t.url.size(); ++i) {
                        if (t.url[i] != '{') {
                            url += t.url[i];
                            continue;
                        }
                        auto close = t.url.find('}', i);
                        std::string name = t.url.substr(i + 1, close - i - 1);
                        i = close;
                        if (name == "hash") {
                            url += '#';
                            continue;
                        }
                        std::string value = name == "host"          ? host
                                            : name == "net"         ? net
                                            : name == "port"        ? port
                                            : name == "start"       ? format_iso8601(times.start)
                                            : name == "end"         ? format_iso8601(times.end)
                                            : name == "start_epoch" ? std::to_string(times.start)
                                                                    : std::to_string(times.end);
                        url += percent_encode(value);
                    }
                    links.push_back({t.name, std::move(url)});
                }
    }
    return links;
}

/// The times of a capture's record: from since (a pull's window), else
/// started, else the first packet; to until, else ended, else the last
/// packet, else now for a capture still running.
inline link_times record_link_times(const record& r, std::int64_t now) {
    auto first_of = [&r](std::initializer_list<const char*> keys) -> std::int64_t {
        for (const char* k : keys)
            if (std::int64_t t = parse_iso8601(r.get(k))) return t;
        return 0;
    };
    link_times times{first_of({"since", "started", "first"}), first_of({"until", "ended", "last"})};
    if (!times.end && r.get("state") == "running") times.end = now;
    return times;
}

/// The links for a record with an expression (the expr key); none without one.
inline std::vector<resource_link> links_for_record(const std::vector<link_template>& templates, const record& r,
                                                   std::int64_t now) {
    const std::string* expr = r.find("expr");
    if (templates.empty() || !expr) return {};
    return expand_links(templates, scan_expression(*expr), record_link_times(r, now));
}

/// The value of the links key: "NAME=URL" for each link, separated by one space.
inline std::string format_links_value(const std::vector<resource_link>& links) {
    std::string out;
    for (const auto& l : links) out += (out.empty() ? "" : " ") + l.name + "=" + l.url;
    return out;
}

/// Sets r's links key from links (removes it when there are none).
inline void set_links(record& r, const std::vector<resource_link>& links) {
    if (links.empty()) r.erase("links");
    else r.set("links", format_links_value(links));
}

/// The links for a person: "Links:", then "  NAME: URL" a line, each line
/// after indent. Nothing when there are none.
inline void write_links_human(std::ostream& out, const std::vector<resource_link>& links,
                              const std::string& indent = {}) {
    if (links.empty()) return;
    out << indent << "Links:\n";
    for (const auto& l : links) out << indent << "  " << l.name << ": " << l.url << '\n';
}

}  // namespace capture
