// Alert lines: what an IDS says about a flow, read into the flow it names
// (cap-pull --from-alert, cap-pull(1) "PULLING FROM ALERTS").
//
// Three sources, told apart line by line, so that one stream may mix them:
//   * Suricata EVE JSON: one object per line with "event_type" (alert, flow,
//     anomaly, drop, ...): src_ip, src_port, dest_ip, dest_port, proto,
//     timestamp, flow_id, vlan, flow.start/flow.end, alert.signature.
//     Events without addresses (stats) hold no flow and are skipped.
//   * Zeek conn.log and notice.log, as TSV (after their "#fields" header,
//     with #separator, #unset_field and #empty_field honoured) or as JSON
//     (one object per line): id.orig_h, id.orig_p, id.resp_h, id.resp_p,
//     proto, ts, duration, uid, and notice's note, msg, src, dst, p.
//   * Our own records (record.hpp), TAB-separated or as JSON: expr, or
//     src/dst/sport/dport/proto; since/until (the window exactly), or
//     time/ts/started and duration/ended/end; alert_id or id, signature
//     or desc, uid. A pull's own record pulls the same traffic again.
//
// Every address, port and protocol is checked before it goes into an
// expression (an address that is not one would be BPF smuggled in).
// Times are kept as the text the source wrote ("@EPOCH.FRACTION" for
// Zeek's epoch seconds); the engine reads them (engine/alert_pull.hpp).
//
// This header needs neither libpcap nor OpenSSL; it parses JSON with
// nlohmann/json.
#pragma once

#include "capture/sys/error.hpp"
#include "capture/text/record.hpp"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// A line that cannot be read as an alert ("NAME:LINE: why").
class alert_error : public error {
public:
    using error::error;
};

/// One alert: the flow it names, when, and what the IDS called it.
struct flow_alert {
    std::size_t line = 0;              ///< its line in the input
    std::string source;                ///< "suricata", "zeek" or "record"
    std::string expression;            ///< a BPF expression given as such (records); empty: made from the tuple
    std::string src, dst;              ///< addresses (IPv4 or IPv6), checked; dst may be empty (a host alone)
    std::optional<std::uint16_t> sport, dport;  ///< ports, when the protocol has them
    std::string proto;                 ///< "tcp", "udp", "sctp", "icmp", "icmp6", "" (any)
    std::string time;                  ///< when: ISO 8601 or "@EPOCH[.FRACTION]"
    std::string end_time;              ///< when the flow ended, if said (same forms)
    std::string start_time;            ///< when the flow began, if said apart from time
    double duration = 0;               ///< seconds the flow lasted from time (Zeek), 0 if unsaid
    std::string since, until;          ///< the window exactly (records), no margin
    bool vlan = false;                 ///< the IDS saw it 802.1Q-tagged
    std::string alert_id;              ///< the source's id of the event (flow_id, uid, id)
    std::string signature;             ///< what it is (alert.signature, note, signature)
    std::string uid;                   ///< Zeek's connection uid
};

namespace detail {

// An address as inet_pton reads it, written back in its canonical form;
// nothing when it is none.
inline std::optional<std::string> checked_address(std::string_view text) {
    std::string s(text);
    char out[INET6_ADDRSTRLEN];
    unsigned char buf[16];
    if (::inet_pton(AF_INET, s.c_str(), buf) == 1) {
        ::inet_ntop(AF_INET, buf, out, sizeof out);
        return std::string(out);
    }
    if (::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        ::inet_ntop(AF_INET6, buf, out, sizeof out);
        return std::string(out);
    }
    return std::nullopt;
}

inline bool holds_colon(const std::string& address) { return address.find(':') != std::string::npos; }

// A port from its text or JSON number: 0 to 65535, digits only.
inline std::uint16_t checked_port(std::string_view text, std::string_view what) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos)
        throw alert_error(std::string(what) + ": '" + std::string(text) + "' is not a port");
    unsigned long v = std::stoul(std::string(text));
    if (v > 65535) throw alert_error(std::string(what) + ": '" + std::string(text) + "' is not a port");
    return static_cast<std::uint16_t>(v);
}

// The protocol as an expression names it, from what Suricata ("TCP",
// "IPv6-ICMP", "006"), Zeek ("tcp", "icmp") or a record wrote.
inline std::string checked_proto(std::string text, bool v6) {
    for (auto& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (text.empty() || text == "-" || text == "unknown_transport") return "";
    if (text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 3) {
        int n = std::stoi(text);
        if (n == 6) return "tcp";
        if (n == 17) return "udp";
        if (n == 132) return "sctp";
        if (n == 1 || n == 58) return v6 ? "icmp6" : "icmp";
        if (n > 255) throw alert_error("proto: '" + text + "' is not a protocol");
        return std::to_string(n);
    }
    if (text == "tcp" || text == "udp" || text == "sctp") return text;
    if (text == "icmp" || text == "icmp6" || text == "ipv6-icmp" || text == "icmpv6") return v6 ? "icmp6" : "icmp";
    throw alert_error("proto: '" + text + "' is not a protocol this knows (tcp, udp, sctp, icmp, or a number)");
}

inline bool has_ports(const std::string& proto) { return proto == "tcp" || proto == "udp" || proto == "sctp"; }

// A JSON value as text: strings as they are, numbers as written back.
inline std::string json_text(const nlohmann::json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
    if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
    if (v.is_number_float()) {
        char b[64];
        std::snprintf(b, sizeof b, "%.6f", v.get<double>());
        return b;
    }
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    return "";
}

// A Zeek time, TSV's "1700000000.123456" or JSON's number or ISO string,
// in a form the engine reads.
inline std::string zeek_time(const std::string& text) {
    if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) return "@" + text;
    return text;
}

inline double checked_duration(const std::string& text) {
    if (text.empty() || text == "-") return 0;
    char* end = nullptr;
    double d = std::strtod(text.c_str(), &end);
    if (!end || *end != '\0' || !std::isfinite(d) || d < 0 || d > 366.0 * 86400)
        throw alert_error("duration: '" + text + "' is not a duration in seconds");
    return d;
}

// Fills the tuple of a from the addresses, ports and protocol given.
inline void set_tuple(flow_alert& a, const std::string& src, const std::string& dst, const std::string& sport,
                      const std::string& dport, const std::string& proto) {
    auto address = [](const std::string& text, const char* what) {
        auto x = checked_address(text);
        if (!x) throw alert_error(std::string(what) + ": '" + text + "' is not an IPv4 or IPv6 address");
        return *x;
    };
    a.src = address(src, "source address");
    if (!dst.empty()) a.dst = address(dst, "destination address");
    if (!a.dst.empty() && holds_colon(a.src) != holds_colon(a.dst))
        throw alert_error("addresses '" + a.src + "' and '" + a.dst + "' are not of one IP version");
    a.proto = checked_proto(proto, holds_colon(a.src));
    if (has_ports(a.proto)) {
        if (!sport.empty()) a.sport = checked_port(sport, "source port");
        if (!dport.empty()) a.dport = checked_port(dport, "destination port");
    }
}

inline std::string lower_ascii(std::string s) {
    for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
}

// Zeek's TSV escapes: \xHH for the separator and for what is not printable.
inline std::string zeek_unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto hex = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && hex(s[i + 2]) >= 0 && hex(s[i + 3]) >= 0) {
            out += static_cast<char>(hex(s[i + 2]) * 16 + hex(s[i + 3]));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

inline std::vector<std::string> split_on(std::string_view s, std::string_view sep) {
    std::vector<std::string> out;
    for (;;) {
        std::size_t at = sep.empty() ? std::string_view::npos : s.find(sep);
        out.emplace_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + sep.size());
    }
}

}  // namespace detail

/// Reads alerts from a stream of lines, any of the three sources mixed.
class alert_reader {
public:
    /// name is what messages call the stream ("standard input", a path).
    alert_reader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

    /// The next alert. Returns false at the end. Blank lines, comments,
    /// Zeek's header lines and events that hold no flow (Suricata stats)
    /// are skipped. A line that names no flow it can use throws
    /// alert_error("NAME:LINE: why"); reading may go on after it.
    bool next(flow_alert& out) {
        std::string line;
        bool too_long = false;
        while (read_bounded_line(in_, line, too_long)) {
            ++line_number_;
            if (too_long) throw bad("a line longer than " + std::to_string(max_record_line >> 20) + " MiB");
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.find_first_not_of(" \t") == std::string::npos) continue;
            if (line[0] == '#') {
                zeek_header(line);
                continue;
            }
            flow_alert a;
            a.line = line_number_;
            bool got;
            try {
                got = line[0] == '{' ? from_json(line, a) : !fields_.empty() && is_zeek_row(line) ? from_zeek_tsv(line, a)
                                                                                                  : from_record(line, a);
            } catch (const alert_error& e) {
                throw bad(e.what());
            } catch (const record_error& e) {
                throw bad(e.what());
            }
            if (!got) continue;
            out = std::move(a);
            return true;
        }
        return false;
    }

    /// The line last read (from 1). Throws nothing.
    std::size_t line_number() const noexcept { return line_number_; }

private:
    alert_error bad(const std::string& why) const {
        return alert_error(name_ + ":" + std::to_string(line_number_) + ": " + why);
    }

    void zeek_header(const std::string& line) {
        if (line.rfind("#separator ", 0) == 0) {
            separator_ = detail::zeek_unescape(line.substr(11));
        } else if (line.rfind("#fields", 0) == 0) {
            auto parts = detail::split_on(line, separator_);
            fields_.assign(parts.begin() + 1, parts.end());
        } else if (line.rfind("#unset_field", 0) == 0) {
            auto parts = detail::split_on(line, separator_);
            if (parts.size() > 1) unset_ = parts[1];
        } else if (line.rfind("#empty_field", 0) == 0) {
            auto parts = detail::split_on(line, separator_);
            if (parts.size() > 1) empty_ = parts[1];
        } else if (line.rfind("#close", 0) == 0) {
            fields_.clear();
        }
    }

    // A data row of the Zeek log whose #fields came last (not a record line:
    // those hold '=' in their first field).
    bool is_zeek_row(const std::string& line) const {
        auto first = line.substr(0, line.find(separator_));
        return first.find('=') == std::string::npos;
    }

    // The fields of Zeek's names, from either form, into a; true when a flow.
    template <class Get>
    static bool from_zeek(flow_alert& a, const Get& get) {
        a.source = "zeek";
        std::string src = get("id.orig_h"), dst = get("id.resp_h");
        std::string sport = get("id.orig_p"), dport = get("id.resp_p");
        if (src.empty()) {  // a notice about a host, not a connection
            src = get("src");
            dst = get("dst");
            sport.clear();
            dport = get("p");
        }
        if (src.empty()) throw alert_error("neither id.orig_h nor src: no flow to pull");
        std::string proto = get("proto");
        if (proto.empty() && !dport.empty()) {
            // notice's p is "80/tcp"-less: a port alone says nothing of the protocol
            dport.clear();
        }
        detail::set_tuple(a, src, dst, sport, dport, proto);
        std::string ts = get("ts");
        if (ts.empty()) throw alert_error("no ts: no time to pull from");
        a.time = detail::zeek_time(ts);
        a.duration = detail::checked_duration(get("duration"));
        a.uid = get("uid");
        a.alert_id = a.uid;
        a.signature = get("note");
        if (!get("vlan").empty()) a.vlan = true;
        return true;
    }

    bool from_zeek_tsv(const std::string& line, flow_alert& a) const {
        auto values = detail::split_on(line, separator_);
        if (values.size() != fields_.size())
            throw alert_error("a Zeek row of " + std::to_string(values.size()) + " fields where #fields names " +
                              std::to_string(fields_.size()));
        auto get = [&](const std::string& key) -> std::string {
            for (std::size_t i = 0; i < fields_.size(); ++i) {
                if (fields_[i] != key) continue;
                if (values[i] == unset_ || values[i] == empty_) return "";
                return detail::zeek_unescape(values[i]);
            }
            return "";
        };
        return from_zeek(a, get);
    }

    static bool from_json(const std::string& line, flow_alert& a) {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw alert_error(std::string("not JSON: ") + e.what());
        }
        if (!j.is_object()) throw alert_error("not a JSON object");
        auto text = [](const nlohmann::json& o, const char* key) -> std::string {
            auto it = o.find(key);
            return it == o.end() || it->is_null() ? std::string() : detail::json_text(*it);
        };
        if (j.contains("event_type")) {
            a.source = "suricata";
            if (!j.contains("src_ip") || !j.contains("dest_ip")) return false;  // stats and the like
            detail::set_tuple(a, text(j, "src_ip"), text(j, "dest_ip"), text(j, "src_port"), text(j, "dest_port"),
                              text(j, "proto"));
            a.time = text(j, "timestamp");
            if (a.time.empty()) throw alert_error("no timestamp: no time to pull from");
            if (auto f = j.find("flow"); f != j.end() && f->is_object()) {
                a.start_time = text(*f, "start");
                a.end_time = text(*f, "end");
            }
            a.alert_id = text(j, "flow_id");
            std::string type = text(j, "event_type");
            if (auto al = j.find("alert"); al != j.end() && al->is_object()) a.signature = text(*al, "signature");
            else if (auto an = j.find("anomaly"); an != j.end() && an->is_object())
                a.signature = "anomaly " + text(*an, "event");
            if (a.signature.empty()) a.signature = type;
            if (auto v = j.find("vlan"); v != j.end() && !v->is_null()) a.vlan = true;
            return true;
        }
        // Zeek's: its connection tuple, or a notice's note; never our records
        // (which may carry a uid of their own beside their expr).
        if (j.contains("id.orig_h") || (j.contains("ts") && j.contains("note") && !j.contains("expr"))) {
            return from_zeek(a, [&](const std::string& key) { return text(j, key.c_str()); });
        }
        record r;
        for (auto it = j.begin(); it != j.end(); ++it)
            if (is_valid_key(it.key())) r.set(it.key(), detail::json_text(it.value()));
        return from_fields(r, a);
    }

    static bool from_record(const std::string& line, flow_alert& a) {
        std::optional<record> r = parse_record_line(line);
        if (!r) return false;
        return from_fields(*r, a);
    }

    // Our own keys (see the header comment).
    static bool from_fields(const record& r, flow_alert& a) {
        a.source = "record";
        auto first_of = [&](std::initializer_list<const char*> keys) {
            for (const char* k : keys)
                if (r.has(k) && !r.get(k).empty()) return r.get(k);
            return std::string();
        };
        if (r.has("expr")) {
            a.expression = r.get("expr");
        } else if (r.has("src")) {
            detail::set_tuple(a, r.get("src"), first_of({"dst"}), first_of({"sport"}), first_of({"dport"}),
                              first_of({"proto"}));
        } else {
            throw alert_error(r.has("file") && r.fields().size() == 1 ? "a bare path, not an alert"
                                                             : "neither expr nor src: no flow to pull");
        }
        a.since = first_of({"since"});
        a.until = first_of({"until"});
        a.time = first_of({"time", "ts", "started"});
        a.end_time = first_of({"end", "ended"});
        a.duration = detail::checked_duration(first_of({"duration"}));
        if (a.time.empty() && a.since.empty() && a.until.empty())
            throw alert_error("no time: give since and until, or time (and duration)");
        a.alert_id = first_of({"alert_id", "id"});
        a.signature = first_of({"signature", "desc"});
        a.uid = first_of({"uid"});
        a.vlan = r.get("vlan") == "yes";
        return true;
    }

    std::istream& in_;
    std::string name_;
    std::size_t line_number_ = 0;
    std::string separator_ = "\t";
    std::string unset_ = "-", empty_ = "(empty)";
    std::vector<std::string> fields_;
};

/// The expression of the alert's flow in both directions: "PROTO and
/// ((src host A and src port P and dst host B and dst port Q) or (the
/// reverse))"; ICMP and other port-less protocols by their hosts alone; a
/// host alone when the alert names one; the alert's own expression when it
/// gave one. Not yet VLAN-safe (bpf.hpp's vlan_expression does that).
/// Throws nothing but std::bad_alloc.
inline std::string flow_expression(const flow_alert& a) {
    if (!a.expression.empty() || a.src.empty()) return a.expression;
    auto side = [](const char* dir, const std::string& host, const std::optional<std::uint16_t>& port) {
        std::string s = std::string(dir) + " host " + host;
        if (port) s += std::string(" and ") + dir + " port " + std::to_string(*port);
        return s;
    };
    std::string proto = a.proto.empty()                                           ? ""
                        : a.proto.find_first_not_of("0123456789") == std::string::npos
                            ? (detail::holds_colon(a.src) ? "ip6 proto " : "ip proto ") + a.proto
                            : a.proto;
    std::string tuple;
    if (a.dst.empty()) {
        tuple = "host " + a.src;
        if (a.dport) tuple += " and port " + std::to_string(*a.dport);
    } else {
        tuple = "(" + side("src", a.src, a.sport) + " and " + side("dst", a.dst, a.dport) + ") or (" +
                side("src", a.dst, a.dport) + " and " + side("dst", a.src, a.sport) + ")";
    }
    return proto.empty() ? tuple : proto + " and (" + tuple + ")";
}

}  // namespace capture
