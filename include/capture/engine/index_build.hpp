// Building a capture's index (cap-index(5)): one walk over the mapped
// file, the packets decoded far enough to name their hosts, ports,
// protocols and classes, each key's blocks noted once.
//
// The decoder is deliberately generous: for every primitive a query may
// narrow with (index_query.hpp), a packet that libpcap's program for that
// primitive would take has the primitive's key in its block. It reads the
// link layer as libpcap does (Ethernet, Linux SLL and SLL2, raw IP,
// null/loopback in either byte order), follows up to max_vlan_tags tags
// (libpcap's "vlan" shifts what follows by one tag; a packet with more
// tags is marked undecoded, and every query reads its block), takes each
// field that is inside the captured bytes even when the next is not (a
// program that reads the source address of a packet cut before its
// destination still matches on it), reads ports where libpcap does (after
// the IPv4 header length, first fragments only; after the fixed IPv6 header)
// and also past IPv6 extension headers, notes every IPv6 next-header value
// of the chain as a protocol, and the addresses of ARP and RARP as hosts
// ("host H" in libpcap means "ip host H or arp host H or rarp host H").
// Too generous costs a block read; too strict would lose a packet.
#pragma once

#include "capture/pcap/capture_reader.hpp"
#include "capture/engine/index_format.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace capture {

/// The VLAN tags the decoder follows before it calls a packet undecoded.
inline constexpr int max_vlan_tags = 8;

/// True when the decoder reads link type lt. Throws nothing.
inline bool index_decodes_linktype(std::uint32_t lt) {
    switch (lt) {
        case 0: case 1: case 12: case 14: case 101: case 108: case 113: case 228: case 229: case 276: return true;
        default: return false;
    }
}

namespace detail {

inline std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

// Decodes one packet's bytes into sink's calls: host4(p), host6(p),
// port(n), proto(n), klass(c).
template <class Sink>
inline void index_decode_l3(std::uint16_t type, const std::uint8_t* p, std::uint32_t len, Sink& sink);

template <class Sink>
inline void index_decode_ipv4(const std::uint8_t* p, std::uint32_t len, Sink& sink) {
    sink.klass(key_class::ipv4);
    if (len >= 16) sink.host4(p + 12);
    if (len >= 20) sink.host4(p + 16);
    if (len < 10) return;
    const std::uint8_t proto = p[9];
    sink.proto(proto);
    if ((be16(p + 6) & 0x1fff) != 0) return;
    if (proto != 6 && proto != 17 && proto != 132) return;
    const std::uint32_t hl = (p[0] & 0x0fu) * 4;
    if (len >= hl + 2) sink.port(be16(p + hl));
    if (len >= hl + 4) sink.port(be16(p + hl + 2));
}

template <class Sink>
inline void index_decode_ipv6(const std::uint8_t* p, std::uint32_t len, Sink& sink) {
    sink.klass(key_class::ipv6);
    if (len >= 24) sink.host6(p + 8);
    if (len >= 40) sink.host6(p + 24);
    if (len < 7) return;
    std::uint8_t nh = p[6];
    sink.proto(nh);
    std::uint32_t off = 40;
    auto ports = [&] {
        if (nh != 6 && nh != 17 && nh != 132) return;
        if (len >= off + 2) sink.port(be16(p + off));
        if (len >= off + 4) sink.port(be16(p + off + 2));
    };
    ports();
    for (int n = 0; n < 8 && (nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60); ++n) {
        if (len < off + 2) return;
        const std::uint8_t next = p[off];
        const std::uint32_t hl = nh == 44 ? 8 : nh == 51 ? (p[off + 1] + 2u) * 4 : (p[off + 1] + 1u) * 8;
        sink.proto(next);
        off += hl;
        nh = next;
        ports();
    }
}

template <class Sink>
inline void index_decode_l3(std::uint16_t type, const std::uint8_t* p, std::uint32_t len, Sink& sink) {
    switch (type) {
        case 0x0800: index_decode_ipv4(p, len, sink); break;
        case 0x86dd: index_decode_ipv6(p, len, sink); break;
        case 0x0806:
        case 0x8035:
            if (len >= 18) sink.host4(p + 14);
            if (len >= 28) sink.host4(p + 24);
            break;
        default: break;
    }
}

inline bool is_vlan_type(std::uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

// The tags from off on, then the layer 3 they carry.
template <class Sink>
inline void index_decode_tagged(std::uint16_t type, const std::uint8_t* d, std::uint32_t off, std::uint32_t caplen,
                                Sink& sink) {
    for (int tags = 0; is_vlan_type(type); ++tags) {
        sink.klass(key_class::vlan);
        if (tags == max_vlan_tags) {
            sink.klass(key_class::undecoded);
            return;
        }
        if (caplen < off + 4) return;
        type = be16(d + off + 2);
        off += 4;
    }
    index_decode_l3(type, d + off, caplen - off, sink);
}

template <class Sink>
inline void index_decode(std::uint32_t linktype, const std::uint8_t* d, std::uint32_t caplen, Sink& sink) {
    switch (linktype) {
        case 1:
            if (caplen >= 14) index_decode_tagged(be16(d + 12), d, 14, caplen, sink);
            break;
        case 113:
            if (caplen >= 16) index_decode_tagged(be16(d + 14), d, 16, caplen, sink);
            break;
        case 276:
            if (caplen >= 20) index_decode_tagged(be16(d), d, 20, caplen, sink);
            break;
        case 0:
        case 108: {
            if (caplen < 4) break;
            std::uint32_t le = std::uint32_t{d[0]} | std::uint32_t{d[1]} << 8 | std::uint32_t{d[2]} << 16 |
                               std::uint32_t{d[3]} << 24;
            std::uint32_t be = __builtin_bswap32(le);
            auto v6 = [](std::uint32_t af) { return af == 10 || af == 24 || af == 28 || af == 30; };
            if (le == 2 || be == 2) index_decode_ipv4(d + 4, caplen - 4, sink);
            else if (v6(le) || v6(be)) index_decode_ipv6(d + 4, caplen - 4, sink);
            break;
        }
        case 12:
        case 14:
        case 101:
            if (caplen < 1) break;
            if ((d[0] >> 4) == 4) index_decode_ipv4(d, caplen, sink);
            else if ((d[0] >> 4) == 6) index_decode_ipv6(d, caplen, sink);
            break;
        case 228: index_decode_ipv4(d, caplen, sink); break;
        case 229: index_decode_ipv6(d, caplen, sink); break;
        default: sink.klass(key_class::undecoded); break;
    }
}

// A key's blocks, noted once per block.
struct posting {
    std::uint32_t last = UINT32_MAX;
    std::vector<std::uint32_t> blocks;
    void note(std::uint32_t b) {
        if (last == b) return;
        last = b;
        blocks.push_back(b);
    }
};

// Open addressing, linear probing: keys of W bytes to postings.
template <std::size_t W>
class posting_table {
public:
    posting_table() : slots_(1024), used_(1024, 0) {}
    posting& at(const std::uint8_t* key) {
        std::uint64_t a = 0, b = 0;
        std::memcpy(&a, key, W < 8 ? W : 8);
        if constexpr (W > 8) std::memcpy(&b, key + 8, W - 8);
        std::uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
        h ^= h >> 29;
        std::size_t mask = slots_.size() - 1;
        for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
            if (!used_[i]) {
                if (2 * (count_ + 1) > slots_.size()) {
                    grow();
                    return at(key);
                }
                used_[i] = 1;
                ++count_;
                std::memcpy(slots_[i].key.data(), key, W);
                return slots_[i].p;
            }
            if (std::memcmp(slots_[i].key.data(), key, W) == 0) return slots_[i].p;
        }
    }
    /// Changes whenever the table grows, which moves every posting: a
    /// pointer to one taken before is no longer one.
    std::size_t generation() const noexcept { return generation_; }
    template <class F>
    void each(F&& f) {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (used_[i]) f(slots_[i].key.data(), slots_[i].p);
    }

private:
    struct slot {
        std::array<std::uint8_t, W> key{};
        posting p;
    };
    void grow() {
        std::vector<slot> old = std::move(slots_);
        std::vector<std::uint8_t> old_used = std::move(used_);
        slots_ = std::vector<slot>(old.size() * 2);
        used_ = std::vector<std::uint8_t>(old.size() * 2, 0);
        count_ = 0;
        ++generation_;
        for (std::size_t i = 0; i < old.size(); ++i)
            if (old_used[i]) at(old[i].key.data()) = std::move(old[i].p);
    }
    std::vector<slot> slots_;
    std::vector<std::uint8_t> used_;
    std::size_t count_ = 0;
    std::size_t generation_ = 0;
};

// What the decoder's calls go into while a file is walked.
struct index_sink {
    std::uint32_t block = 0;
    posting_table<4> hosts4;
    posting_table<16> hosts6;
    std::vector<posting> ports = std::vector<posting>(65536);
    std::vector<posting> protos = std::vector<posting>(256);
    std::vector<posting> classes = std::vector<posting>(8);
    // The last host4 looked up, and its posting: a flow's packets come in
    // runs. Forgotten when the table grows (its postings move).
    std::uint32_t last4[2] = {0, 0};
    posting* last4_p[2] = {nullptr, nullptr};

    void host4(const std::uint8_t* p) {
        std::uint32_t v;
        std::memcpy(&v, p, 4);
        for (int i = 0; i < 2; ++i)
            if (last4_p[i] && last4[i] == v) return last4_p[i]->note(block);
        const std::size_t before = hosts4.generation();
        posting& q = hosts4.at(p);
        if (hosts4.generation() != before) last4_p[0] = nullptr;
        last4[1] = last4[0];
        last4_p[1] = last4_p[0];
        last4[0] = v;
        last4_p[0] = &q;
        q.note(block);
    }
    // The same for IPv6: hashing 16 bytes per address was the builder's
    // largest cost on an archive with IPv6 in it.
    std::array<std::uint8_t, 16> last6[2] = {};
    posting* last6_p[2] = {nullptr, nullptr};

    void host6(const std::uint8_t* p) {
        for (int i = 0; i < 2; ++i)
            if (last6_p[i] && std::memcmp(last6[i].data(), p, 16) == 0) return last6_p[i]->note(block);
        const std::size_t before = hosts6.generation();
        posting& q = hosts6.at(p);
        if (hosts6.generation() != before) last6_p[0] = nullptr;
        last6[1] = last6[0];
        last6_p[1] = last6_p[0];
        std::memcpy(last6[0].data(), p, 16);
        last6_p[0] = &q;
        q.note(block);
    }
    void port(std::uint16_t n) { ports[n].note(block); }
    void proto(std::uint8_t n) { protos[n].note(block); }
    void klass(key_class c) { classes[static_cast<std::size_t>(c)].note(block); }
};

}  // namespace detail

/// Indexes the capture at path (classic pcap in this host's byte order, a
/// link type the decoder reads, every record whole): blocks of about
/// block_bytes. Throws error("PATH: why") for a capture it cannot index,
/// or one that changed while it was read.
inline index_content build_index(const std::string& path, std::uint32_t block_bytes = index_block_bytes) {
    using detail::load32;
    unique_fd fd = open_read(path);
    index_content c;
    c.capture = identify_capture(fd.get(), path);
    c.block_bytes = block_bytes;
    mapped_file map(path);
    if (map.size() != c.capture.size) throw error(path + ": changed while it was indexed");
    const std::uint8_t* d = map.data();
    const std::uint64_t size = map.size();
    if (size < 24) throw error(path + ": too short for a pcap header");
    const std::uint32_t magic = load32<false>(d);
    if ((magic != detail::pcap_magic_us && magic != detail::pcap_magic_ns) || detail::load16<false>(d + 4) != 2 ||
        detail::load16<false>(d + 6) != 4)
        throw error(path + ": not indexed: only classic pcap (version 2.4, this host's byte order) is");
    c.linktype = load32<false>(d + 20) & 0xffff;
    if (!index_decodes_linktype(c.linktype))
        throw error(path + ": not indexed: link type " + std::to_string(c.linktype) + " is not decoded");
    c.frac_per_sec = magic == detail::pcap_magic_ns ? 1000000000 : 1000000;
    const std::uint32_t max_caplen = max_caplen_for_linktype(c.linktype);
    map.advise_sequential();

    auto sink = std::make_unique<detail::index_sink>();
    std::uint64_t pos = 24, block_start = 24, released = 0;
    index_block cur;
    auto later = [](std::uint32_t s1, std::uint32_t f1, std::uint32_t s2, std::uint32_t f2) {
        return s1 > s2 || (s1 == s2 && f1 > f2);
    };
    while (pos < size) {
        if (size - pos < 16) throw error(path + ": not indexed: ends in a partial record (at byte " + std::to_string(pos) + ")");
        const std::uint8_t* r = d + pos;
        const std::uint32_t sec = load32<false>(r), frac = load32<false>(r + 4);
        const std::uint32_t caplen = load32<false>(r + 8), origlen = load32<false>(r + 12);
        if (caplen > max_caplen || caplen > origlen || frac >= c.frac_per_sec || caplen > size - pos - 16)
            throw error(path + ": not indexed: a record it cannot take as it is (at byte " + std::to_string(pos) + ")");
        if (cur.packets == 0) {
            cur.offset = pos;
            cur.min_sec = cur.max_sec = sec;
            cur.min_frac = cur.max_frac = frac;
        } else {
            if (later(cur.min_sec, cur.min_frac, sec, frac)) cur.min_sec = sec, cur.min_frac = frac;
            if (later(sec, frac, cur.max_sec, cur.max_frac)) cur.max_sec = sec, cur.max_frac = frac;
        }
        ++cur.packets;
        detail::index_decode(c.linktype, r + 16, caplen, *sink);
        pos += 16 + caplen;
        if (pos - block_start >= block_bytes) {
            c.blocks.push_back(cur);
            c.packets += cur.packets;
            cur = index_block{};
            block_start = pos;
            ++sink->block;
            if (pos - released >= (std::uint64_t{8} << 20)) {
                std::uint64_t upto = pos & ~std::uint64_t{4095};
                ::madvise(const_cast<std::uint8_t*>(d) + released, upto - released, MADV_DONTNEED);
                released = upto;
            }
        }
    }
    if (cur.packets) {
        c.blocks.push_back(cur);
        c.packets += cur.packets;
    }
    c.indexed_end = pos;
    if (map.length_now() < map.size()) throw error(path + ": changed while it was indexed");
    capture_identity after = identify_capture(fd.get(), path);
    if (!identity_mismatch(c.capture, after).empty()) throw error(path + ": changed while it was indexed");

    auto add = [&](const index_key& k, detail::posting& p) {
        if (!p.blocks.empty()) c.postings.emplace_back(k, std::move(p.blocks));
    };
    sink->hosts4.each([&](const std::uint8_t* k, detail::posting& p) { add(make_host_key(k, false), p); });
    sink->hosts6.each([&](const std::uint8_t* k, detail::posting& p) { add(make_host_key(k, true), p); });
    for (std::uint32_t n = 0; n < 65536; ++n) add(make_number_key(key_type::port, n), sink->ports[n]);
    for (std::uint32_t n = 0; n < 256; ++n) add(make_number_key(key_type::proto, n), sink->protos[n]);
    for (std::uint32_t n = 0; n < 8; ++n) add(make_number_key(key_type::klass, n), sink->classes[n]);
    std::sort(c.postings.begin(), c.postings.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return c;
}

/// Writes the sidecar of content at index_path, atomically, with mode.
/// Throws error("PATH: why").
inline void write_index(const std::string& index_path, const index_content& content, mode_t mode = 0644) {
    write_file_atomically(index_path, encode_index(content), mode);
}

}  // namespace capture
