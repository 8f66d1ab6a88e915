// Asking a capture's index which blocks may hold an expression's packets.
//
// An expression the index can narrow is a conjunction ("and", "&&",
// parentheses) of primitives it has keys for: [src|dst] host ADDR,
// [src|dst] net ADDR/LEN, [src|dst] port N, tcp, udp, sctp, icmp, icmp6,
// ip proto N, ip6 proto N, ip, ip6, vlan [N], and those led by ip, ip6,
// tcp, udp or sctp ("tcp port 80", "ip6 host ADDR"). Anything else ("or",
// "not", a host name, a primitive it has no key for) is not narrowed: the
// capture is scanned. The candidate blocks of a narrowed expression are
// a superset of those with a packet it matches; the caller still runs the
// full program on every packet of them, so the answer is the scan's.
#pragma once

#include "capture/engine/index_format.hpp"
#include "capture/sys/read_ahead.hpp"
#include "capture/text/record.hpp"
#include "capture/engine/time_window.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// One primitive's keys: a packet it matches has one of them (a range
/// [lo, hi] of one type; lo == hi for one key).
struct key_range {
    index_key lo, hi;
};

/// An expression as the index sees it.
struct index_expression {
    bool narrows = false;                       ///< the index can narrow it
    std::string why;                            ///< why not, or what it narrows by
    std::vector<std::vector<key_range>> terms;  ///< all must hold; each: any of its ranges
};

namespace detail {

inline std::vector<std::string> index_tokens(const std::string& e) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
    };
    for (char c : e) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            flush();
        } else if (c == '(' || c == ')') {
            flush();
            out.emplace_back(1, c);
        } else {
            cur.push_back(c);
        }
    }
    flush();
    return out;
}

inline bool index_number(const std::string& s, std::uint32_t max, std::uint32_t& v) {
    if (s.empty() || s.size() > 5) return false;
    std::uint32_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (n > max) return false;
    v = n;
    return true;
}

class index_parser {
public:
    explicit index_parser(std::vector<std::string> t) : t_(std::move(t)) {}

    index_expression parse() {
        index_expression r;
        if (t_.empty()) return fail("an empty expression takes every packet");
        if (!expr(r) || i_ != t_.size()) return fail(why_.empty() ? "not a conjunction the index narrows" : why_);
        r.narrows = true;
        return r;
    }

private:
    index_expression fail(std::string why) {
        index_expression r;
        r.why = std::move(why);
        return r;
    }
    bool no(std::string why) {
        if (why_.empty()) why_ = std::move(why);
        return false;
    }
    const std::string* peek() const { return i_ < t_.size() ? &t_[i_] : nullptr; }
    bool accept(const char* s) {
        if (peek() && *peek() == s) {
            ++i_;
            return true;
        }
        return false;
    }

    bool expr(index_expression& r) {
        if (!term(r)) return false;
        while (peek() && (*peek() == "and" || *peek() == "&&")) {
            ++i_;
            if (!term(r)) return false;
        }
        if (peek() && (*peek() == "or" || *peek() == "||")) return no("'or' is not narrowed by the index");
        return true;
    }

    bool term(index_expression& r) {
        if (!peek()) return no("the expression ends too early");
        if (accept("(")) {
            if (!expr(r)) return false;
            if (!accept(")")) return no("unbalanced parentheses");
            return true;
        }
        const std::string w = *peek();
        if (w == "not" || w == "!" || w[0] == '!') return no("'not' is not narrowed by the index");
        return primitive(r);
    }

    void add(index_expression& r, key_range k) { r.terms.push_back({k}); }
    static key_range one(index_key k) { return key_range{k, k}; }

    bool primitive(index_expression& r) {
        std::string w = t_[i_++];
        // A protocol that may lead a host, net or port qualifier.
        if (w == "ip" || w == "ip6" || w == "tcp" || w == "udp" || w == "sctp") {
            key_range k = w == "ip"    ? one(make_number_key(key_type::klass, static_cast<std::uint32_t>(key_class::ipv4)))
                          : w == "ip6" ? one(make_number_key(key_type::klass, static_cast<std::uint32_t>(key_class::ipv6)))
                                       : one(make_number_key(key_type::proto, w == "tcp" ? 6 : w == "udp" ? 17 : 132));
            if ((w == "ip" || w == "ip6") && accept("proto")) {
                if (!peek()) return no("the expression ends too early");
                std::string n = t_[i_++];
                std::uint32_t v = 0;
                if (n == "tcp" || n == "\\tcp") v = 6;
                else if (n == "udp" || n == "\\udp") v = 17;
                else if (n == "icmp" || n == "\\icmp") v = 1;
                else if (n == "sctp" || n == "\\sctp") v = 132;
                else if (!index_number(n, 255, v)) return no("'" + w + " proto " + n + "' is not narrowed by the index");
                add(r, one(make_number_key(key_type::proto, v)));
                return true;
            }
            add(r, k);
            if (peek() && (*peek() == "src" || *peek() == "dst" || *peek() == "host" || *peek() == "net" ||
                           *peek() == "port"))
                return qualified(r, *peek() == "host" || *peek() == "net" || *peek() == "port" ? "" : t_[i_]);
            return true;
        }
        if (w == "icmp") return add(r, one(make_number_key(key_type::proto, 1))), true;
        if (w == "icmp6") return add(r, one(make_number_key(key_type::proto, 58))), true;
        if (w == "vlan") {
            std::uint32_t v = 0;
            if (peek() && index_number(*peek(), 4095, v)) ++i_;
            add(r, one(make_number_key(key_type::klass, static_cast<std::uint32_t>(key_class::vlan))));
            return true;
        }
        --i_;
        if (w == "src" || w == "dst" || w == "host" || w == "net" || w == "port") return qualified(r, "");
        return no("'" + w + "' is not narrowed by the index");
    }

    // [src|dst] host|net|port VALUE
    bool qualified(index_expression& r, const std::string&) {
        if (accept("src") || accept("dst")) {
        }
        if (!peek()) return no("the expression ends too early");
        std::string what = t_[i_++];
        if (!peek()) return no("the expression ends too early");
        std::string v = t_[i_++];
        if (what == "host") {
            std::uint8_t a[16];
            if (::inet_pton(AF_INET, v.c_str(), a) == 1) return add(r, one(make_host_key(a, false))), true;
            if (::inet_pton(AF_INET6, v.c_str(), a) == 1) return add(r, one(make_host_key(a, true))), true;
            return no("'host " + v + "' is not an address the index narrows by");
        }
        if (what == "net") {
            auto slash = v.find('/');
            std::uint32_t len = 0;
            if (slash == std::string::npos) return no("'net " + v + "' without /LEN is not narrowed by the index");
            std::string addr = v.substr(0, slash);
            std::uint8_t a[16] = {};
            bool v6;
            if (::inet_pton(AF_INET, addr.c_str(), a) == 1 && index_number(v.substr(slash + 1), 32, len)) v6 = false;
            else if (::inet_pton(AF_INET6, addr.c_str(), a) == 1 && index_number(v.substr(slash + 1), 128, len)) v6 = true;
            else return no("'net " + v + "' is not a prefix the index narrows by");
            key_range k{make_host_key(a, v6), make_host_key(a, v6)};
            const std::uint32_t bits = v6 ? 128 : 32;
            for (std::uint32_t b = len; b < bits; ++b) {
                k.lo.value[b / 8] &= static_cast<std::uint8_t>(~(0x80u >> (b % 8)));
                k.hi.value[b / 8] |= static_cast<std::uint8_t>(0x80u >> (b % 8));
            }
            add(r, k);
            return true;
        }
        if (what == "port") {
            std::uint32_t n = 0;
            if (!index_number(v, 65535, n)) return no("'port " + v + "' is not a port number the index narrows by");
            add(r, one(make_number_key(key_type::port, n)));
            return true;
        }
        return no("'" + what + "' is not narrowed by the index");
    }

    std::vector<std::string> t_;
    std::size_t i_ = 0;
    std::string why_;
};

}  // namespace detail

/// How the index sees expression (as given, before --vlan wraps it: the
/// index has keys at every VLAN depth). Throws nothing but std::bad_alloc.
inline index_expression analyse_index_expression(const std::string& expression) {
    index_expression r = detail::index_parser(detail::index_tokens(expression)).parse();
    if (r.narrows) r.why = std::to_string(r.terms.size()) + " term" + (r.terms.size() == 1 ? "" : "s");
    return r;
}

/// The blocks of reader that may hold a packet of e inside window, ascending.
/// Throws index_error when the sidecar is damaged.
inline std::vector<std::uint32_t> candidate_blocks(index_reader& reader, const index_expression& e,
                                                   const time_window& window) {
    const std::size_t n = reader.block_count();
    // Every key table this reads, asked of a cold disk at once.
    reader.prefetch_keys(key_type::klass);
    for (const auto& term : e.terms)
        for (const auto& r : term) reader.prefetch_keys(r.lo.type);
    std::optional<index_key_entry> u =
        reader.find(make_number_key(key_type::klass, static_cast<std::uint32_t>(key_class::undecoded)));
    // The lists of every term's keys, asked for at once too.
    std::vector<std::vector<index_key_entry>> lists(e.terms.size());
    for (std::size_t t = 0; t < e.terms.size(); ++t) {
        for (const auto& r : e.terms[t]) {
            const auto& keys = reader.keys(r.lo.type);
            auto it = std::lower_bound(keys.begin(), keys.end(), r.lo,
                                       [](const index_key_entry& x, const index_key& k) { return x.key < k; });
            for (; it != keys.end() && !(r.hi < it->key); ++it) {
                lists[t].push_back(*it);
                reader.prefetch_postings(*it);
            }
        }
    }
    if (u) reader.prefetch_postings(*u);
    std::vector<std::uint8_t> keep(n, 1);
    std::vector<std::uint8_t> undecoded(n, 0);
    if (u)
        for (std::uint32_t b : reader.postings(*u)) undecoded[b] = 1;
    for (const auto& list : lists) {
        std::vector<std::uint8_t> any = undecoded;
        for (const auto& entry : list)
            for (std::uint32_t b : reader.postings(entry)) any[b] = 1;
        for (std::size_t b = 0; b < n; ++b) keep[b] &= any[b];
    }
    std::vector<std::uint32_t> kept;
    for (std::size_t b = 0; b < n; ++b)
        if (keep[b]) kept.push_back(static_cast<std::uint32_t>(b));
    const std::uint32_t ns_per_frac = reader.frac_per_sec() == 1000000 ? 1000 : 1;
    auto outside = [&](const index_block& k) {
        timestamp lo{k.min_sec, k.min_frac * ns_per_frac}, hi{k.max_sec, k.max_frac * ns_per_frac};
        return hi < window.since || !(lo < window.until);
    };
    // A window that holds the whole capture needs no block's times.
    const index_block& span = reader.span();
    if (n == 0 || outside(span)) return {};
    timestamp first{span.min_sec, span.min_frac * ns_per_frac}, last{span.max_sec, span.max_frac * ns_per_frac};
    if (window.contains(first) && window.contains(last)) return kept;
    reader.prefetch_times(kept);
    std::vector<std::uint32_t> out;
    for (std::uint32_t b : kept)
        if (!outside(reader.block(b))) out.push_back(b);
    return out;
}

/// Candidate ranges closer than this are asked of the disk as one read:
/// a cold disk takes a few more KiB in the time of one more request.
inline constexpr std::uint64_t index_read_gap = 16384;

/// What the index says of one capture of a pull.
struct index_answer {
    enum class state { used, missing, stale, corrupt } status = state::missing;
    std::string why;                                          ///< for stale and corrupt: "PATH: why"
    std::string index_path;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  ///< candidate byte ranges, ascending, disjoint
    std::uint64_t candidate_bytes = 0;
    std::size_t blocks = 0, candidates = 0;
};

/// Looks up the sidecar of the capture at path (beside it, or under
/// index_dir), checks it speaks for the capture as it is now, and turns
/// e's candidate blocks inside window into byte ranges, which it asks the
/// disk for (so a pull that asks for every file of its window reads a cold
/// archive at the depth of its queue): through ahead, in the background,
/// as the order-th file, when given; else at once; not at all without
/// ask_disk (a dry run, which reads no packet). Throws only std::bad_alloc:
/// every fault is a state of the answer.
inline index_answer ask_index(const std::string& path, const std::string& index_dir, const index_expression& e,
                              const time_window& window, read_ahead_queue* ahead = nullptr, std::size_t order = 0,
                              bool ask_disk = true) {
    index_answer a;
    try {
        a.index_path = index_path_for(path, index_dir);
    } catch (const std::exception& x) {
        a.why = x.what();
        return a;
    }
    if (::access(a.index_path.c_str(), F_OK) != 0) return a;
    try {
        unique_fd capture = open_read(path);
        prefetch_capture_edges(capture.get());  // read while the sidecar is
        index_reader reader(a.index_path);
        reader.prefetch_offsets();
        capture_identity now = identify_capture(capture.get(), path);
        std::string m = identity_mismatch(reader.capture(), now);
        if (!m.empty()) {
            a.status = index_answer::state::stale;
            a.why = a.index_path + ": stale index: " + m;
            return a;
        }
        a.blocks = reader.block_count();
        for (std::uint32_t b : candidate_blocks(reader, e, window)) {
            auto r = reader.block_range(b);
            a.candidate_bytes += r.second - r.first;
            ++a.candidates;
            if (!a.ranges.empty() && a.ranges.back().second == r.first) a.ranges.back().second = r.second;
            else a.ranges.push_back(r);
        }
        a.status = index_answer::state::used;
        if (!ask_disk) return a;
        read_ahead_queue::ranges reads;
        for (std::size_t i = 0; i < a.ranges.size();) {
            std::size_t j = i + 1;
            while (j < a.ranges.size() && a.ranges[j].first - a.ranges[j - 1].second <= index_read_gap) ++j;
            reads.emplace_back(a.ranges[i].first, a.ranges[j - 1].second);
            i = j;
        }
        if (ahead) {
            ahead->add(order, path, std::move(reads));
        } else {
            for (const auto& r : reads)
                ::posix_fadvise(capture.get(), static_cast<off_t>(r.first), static_cast<off_t>(r.second - r.first),
                                POSIX_FADV_WILLNEED);
        }
    } catch (const std::exception& x) {
        a.status = index_answer::state::corrupt;
        a.ranges.clear();
        a.why = x.what();
    }
    return a;
}

/// What cap-info says of a sidecar: kind=index, its capture (when its
/// name tells: a sidecar beside its capture), packets, blocks, keys, its
/// bytes and the capture's, the ratio, and fresh (yes, no with why, or
/// unknown). Throws index_error when the sidecar is not sound.
inline record describe_index(const std::string& path, record base = {}) {
    index_reader r(path);
    r.verify_all();
    base.set("kind", "index");
    if (!base.has("file")) base.set("file", path);
    const std::string name = file_name_of(path);
    std::string capture_path;
    if (name.size() > 6 && name[0] == '.' && is_index_name(name)) {
        std::string dir = directory_of(path);
        capture_path = (path.find('/') == std::string::npos ? std::string() : dir + "/") +
                       name.substr(1, name.size() - 6);
    }
    base.set("packets", std::to_string(r.packets()));
    base.set("blocks", std::to_string(r.block_count()));
    base.set("keys", std::to_string(r.key_count()));
    base.set("hosts", std::to_string(r.key_count(key_type::host4) + r.key_count(key_type::host6)));
    base.set("ports", std::to_string(r.key_count(key_type::port)));
    base.set("bytes", std::to_string(r.size()));
    base.set("capture_bytes", std::to_string(r.capture().size));
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2f%%",
                  r.capture().size ? 100.0 * static_cast<double>(r.size()) / static_cast<double>(r.capture().size) : 0.0);
    base.set("ratio", ratio);
    base.set("linktype", std::to_string(r.linktype()));
    base.set("block_bytes", std::to_string(r.block_bytes()));
    if (capture_path.empty()) {
        base.set("fresh", "unknown");
    } else {
        base.set("capture", capture_path);
        try {
            std::string m = identity_mismatch(r.capture(), identify_capture(capture_path));
            base.set("fresh", m.empty() ? "yes" : "no");
            if (!m.empty()) base.set("why", m);
        } catch (const std::exception& e) {
            base.set("fresh", "no");
            base.set("why", e.what());
        }
    }
    return base;
}

}  // namespace capture
