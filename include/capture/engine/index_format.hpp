// The capture index (cap-index(5)): what a sidecar holds, how it is
// written, how it is read back without trusting a byte of it.
//
// One sidecar per capture file. The capture is cut into blocks (runs of
// whole records of about index_block_bytes); for each key met in a block's
// packets (an IPv4 or IPv6 host, a TCP/UDP/SCTP port, an IP protocol, a
// class: IPv4, IPv6, VLAN-tagged, not decoded) the sidecar keeps the sorted
// list of the blocks holding it, delta- and varint-coded. A query reads the
// header, the blocks' offsets (one array, read at once: a cold disk pays
// for a read far more than for its bytes), the keys of the one type it asks
// about, then the posting lists it needs; the blocks' times only when its
// window cuts the file's span (the header has it), and then only the
// chunks of its candidates. A few reads per file, never the whole sidecar.
//
// Nothing in a sidecar is taken on trust: every section and every posting
// list carries a checksum, every offset and count is checked against the
// sizes around it, and the header names the capture (size, mtime, SHA-256 of
// its first and last 64 KiB) so that a rewritten, grown or truncated capture
// is never answered from a stale index. A sidecar that fails any check is
// "corrupt" and its capture is scanned.
#pragma once

#include "capture/sys/atomic_file.hpp"
#include "capture/pcap/capture_reader.hpp"
#include "capture/sys/digest.hpp"
#include "capture/sys/error.hpp"
#include "capture/sys/fd.hpp"

#include <openssl/evp.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capture {

/// A sidecar that cannot be used: "PATH: why".
class index_error : public error {
public:
    using error::error;
};

/// The version this code writes and reads.
inline constexpr std::uint32_t index_version = 2;
/// The first eight bytes of a sidecar.
inline constexpr std::array<std::uint8_t, 8> index_magic{'C', 'A', 'P', 'I', 'D', 'X', '\r', '\n'};
/// The header's size in bytes.
inline constexpr std::size_t index_header_bytes = 224;
/// The default block: a new one starts at the first record past this many bytes.
inline constexpr std::uint32_t index_block_bytes = 4096;
/// The bytes of the capture's start and end its digest covers, each.
inline constexpr std::uint64_t index_edge_bytes = 65536;
/// The size of one entry of the block times (earliest and latest packet, packets).
inline constexpr std::size_t index_block_entry_bytes = 20;
/// Entries of the block times under one checksum: a query whose window
/// cuts the file reads only the chunks of its candidate blocks.
inline constexpr std::size_t index_block_chunk = 128;

/// The kinds of key, in the order of their sections.
enum class key_type : std::uint8_t { host4 = 0, host6 = 1, port = 2, proto = 3, klass = 4 };
/// How many key types (sections) a sidecar has.
inline constexpr std::size_t key_type_count = 5;
/// The value bytes of a key of each type.
inline constexpr std::array<std::size_t, key_type_count> key_value_bytes{4, 16, 2, 1, 1};

/// Values of klass keys.
enum class key_class : std::uint8_t {
    ipv4 = 1,      ///< the link layer says IPv4 (at any VLAN depth)
    ipv6 = 2,      ///< the link layer says IPv6
    vlan = 3,      ///< at least one 802.1Q/802.1ad tag
    undecoded = 4  ///< a packet the decoder could not follow to its end (too many tags): every query reads its block
};

/// One key: its type and value (big-endian bytes, left-aligned, zero padded).
struct index_key {
    key_type type = key_type::klass;
    std::array<std::uint8_t, 16> value{};
    bool operator<(const index_key& o) const noexcept {
        if (type != o.type) return type < o.type;
        return value < o.value;
    }
    bool operator==(const index_key& o) const noexcept { return type == o.type && value == o.value; }
};

/// A key of a type from a number (port, protocol, class). Throws nothing.
inline index_key make_number_key(key_type t, std::uint32_t v) {
    index_key k;
    k.type = t;
    if (t == key_type::port) {
        k.value[0] = static_cast<std::uint8_t>(v >> 8);
        k.value[1] = static_cast<std::uint8_t>(v);
    } else {
        k.value[0] = static_cast<std::uint8_t>(v);
    }
    return k;
}

/// A host key from the address bytes (4 or 16, network order). Throws nothing.
inline index_key make_host_key(const std::uint8_t* addr, bool v6) {
    index_key k;
    k.type = v6 ? key_type::host6 : key_type::host4;
    std::memcpy(k.value.data(), addr, v6 ? 16 : 4);
    return k;
}

/// One block: where it is, what time it spans, how many packets.
struct index_block {
    std::uint64_t offset = 0;     ///< the first record's offset in the capture
    std::uint32_t min_sec = 0, min_frac = 0;  ///< the earliest packet (pcap fields)
    std::uint32_t max_sec = 0, max_frac = 0;  ///< the latest packet
    std::uint32_t packets = 0;
};

/// The capture a sidecar speaks for, as it was indexed.
struct capture_identity {
    std::uint64_t size = 0;
    std::int64_t mtime_sec = 0;
    std::uint32_t mtime_nsec = 0;
    std::array<std::uint8_t, 32> edge_digest{};  ///< SHA-256 of the first and last index_edge_bytes
};

/// Everything a sidecar says of its capture, in memory: the builder's
/// output and the writer's input.
struct index_content {
    capture_identity capture;
    std::uint32_t linktype = 0;
    std::uint32_t frac_per_sec = 1000000;   ///< 1000000 (microseconds) or 1000000000
    std::uint32_t block_bytes = index_block_bytes;
    std::uint64_t packets = 0;
    std::uint64_t indexed_end = 0;          ///< the end of the last record (the capture's size)
    std::vector<index_block> blocks;
    std::vector<std::pair<index_key, std::vector<std::uint32_t>>> postings;  ///< sorted by key; blocks ascending
};

namespace detail {

inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline std::uint32_t get_u32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}
inline std::uint64_t get_u64(const std::uint8_t* p) { return get_u32(p) | std::uint64_t{get_u32(p + 4)} << 32; }
inline void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}
// Reads a varint at p (before end); false when it runs past end or is longer than 10 bytes.
inline bool get_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        std::uint8_t b = *p++;
        v |= std::uint64_t{b & 0x7fu} << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

}  // namespace detail

/// A 64-bit checksum of n bytes (not cryptographic: it finds damage, a
/// sidecar is no defence against whoever may write it). Throws nothing.
inline std::uint64_t index_checksum(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    std::uint64_t tail = 0;
    for (std::size_t j = 0; i + j < n; ++j) tail |= std::uint64_t{p[i + j]} << (8 * j);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}
inline std::uint64_t index_checksum(std::string_view s) noexcept {
    return index_checksum(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

namespace detail {

// pread of exactly n bytes at off; false on a short read.
inline bool pread_fully(int fd, void* buf, std::size_t n, std::uint64_t off) {
    auto* p = static_cast<std::uint8_t*>(buf);
    while (n > 0) {
        ssize_t got = ::pread(fd, p, n, static_cast<off_t>(off));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
        off += static_cast<std::uint64_t>(got);
    }
    return true;
}

}  // namespace detail

/// The identity of the open capture fd (size, mtime, edge digest), as
/// the sidecar records it. Throws error("PATH: why").
inline capture_identity identify_capture(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw system_failure(path);
    if (!S_ISREG(st.st_mode)) throw error(path + ": not a regular file");
    capture_identity id;
    id.size = static_cast<std::uint64_t>(st.st_size);
    id.mtime_sec = st.st_mtim.tv_sec;
    id.mtime_nsec = static_cast<std::uint32_t>(st.st_mtim.tv_nsec);
    // Two reads of 64 KiB, and nothing around them: a cold pull that reads
    // ahead here reads megabytes per file it was asked not to read.
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    std::vector<std::uint8_t> buf(static_cast<std::size_t>(std::min(id.size, index_edge_bytes)));
    md_ctx_ptr ctx = make_md_ctx();
    if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw error(path + ": " + openssl_error_text());
    auto add = [&](std::uint64_t off) {
        if (!detail::pread_fully(fd, buf.data(), buf.size(), off)) throw error(path + ": short read");
        if (EVP_DigestUpdate(ctx.get(), buf.data(), buf.size()) != 1) throw error(path + ": " + openssl_error_text());
    };
    add(0);
    add(id.size - buf.size());
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx.get(), id.edge_digest.data(), &n) != 1 || n != 32)
        throw error(path + ": " + openssl_error_text());
    return id;
}

/// The identity of the capture at path. Throws error("PATH: why").
inline capture_identity identify_capture(const std::string& path) {
    unique_fd fd = open_read(path);
    return identify_capture(fd.get(), path);
}

/// Asks the kernel for the bytes identify_capture(fd) reads, and for no
/// more: a caller that has other reads to make meanwhile overlaps them on
/// a cold disk. Throws nothing.
inline void prefetch_capture_edges(int fd) noexcept {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    const off_t n = static_cast<off_t>(std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), index_edge_bytes));
    ::posix_fadvise(fd, 0, n, POSIX_FADV_WILLNEED);
    if (st.st_size > n) ::posix_fadvise(fd, st.st_size - n, n, POSIX_FADV_WILLNEED);
}

/// Why a sidecar does not speak for the capture as it is now, or "" when
/// it does. Throws nothing.
inline std::string identity_mismatch(const capture_identity& indexed, const capture_identity& now) {
    if (now.size > indexed.size) return "the capture grew since it was indexed";
    if (now.size < indexed.size) return "the capture is shorter than when it was indexed";
    if (now.mtime_sec != indexed.mtime_sec || now.mtime_nsec != indexed.mtime_nsec)
        return "the capture was modified since it was indexed";
    if (now.edge_digest != indexed.edge_digest) return "the capture's bytes changed since it was indexed";
    return "";
}

/// The sidecar's bytes for content (see cap-index(5)). Throws nothing but std::bad_alloc.
inline std::string encode_index(const index_content& c) {
    // Sections: the blocks' offsets, their times, one key table per type, the postings.
    const std::uint32_t width = c.indexed_end > 0xffffffffull ? 8 : 4;
    std::string offsets, times;
    offsets.reserve(c.blocks.size() * width);
    times.reserve(c.blocks.size() * index_block_entry_bytes);
    std::uint32_t first_sec = 0, first_frac = 0, last_sec = 0, last_frac = 0;
    for (std::size_t i = 0; i < c.blocks.size(); ++i) {
        const index_block& b = c.blocks[i];
        if (width == 8) detail::put_u64(offsets, b.offset);
        else detail::put_u32(offsets, static_cast<std::uint32_t>(b.offset));
        detail::put_u32(times, b.min_sec);
        detail::put_u32(times, b.min_frac);
        detail::put_u32(times, b.max_sec);
        detail::put_u32(times, b.max_frac);
        detail::put_u32(times, b.packets);
        if (i == 0 || b.min_sec < first_sec || (b.min_sec == first_sec && b.min_frac < first_frac))
            first_sec = b.min_sec, first_frac = b.min_frac;
        if (i == 0 || b.max_sec > last_sec || (b.max_sec == last_sec && b.max_frac > last_frac))
            last_sec = b.max_sec, last_frac = b.max_frac;
    }
    std::array<std::string, key_type_count> keys;
    std::array<std::uint32_t, key_type_count> key_counts{}, type_postings{};
    std::string postings;
    for (const auto& [key, list] : c.postings) {
        const std::size_t t = static_cast<std::size_t>(key.type);
        std::string coded;
        std::uint32_t prev = 0;
        for (std::size_t i = 0; i < list.size(); ++i) {
            detail::put_varint(coded, i == 0 ? list[i] : list[i] - prev);
            prev = list[i];
        }
        std::string& k = keys[t];
        k.append(reinterpret_cast<const char*>(key.value.data()), key_value_bytes[t]);
        detail::put_varint(k, list.size());
        detail::put_varint(k, coded.size());
        detail::put_u32(k, static_cast<std::uint32_t>(index_checksum(coded)));
        ++key_counts[t];
        type_postings[t] += static_cast<std::uint32_t>(coded.size());
        postings += coded;
    }
    std::string sums;
    for (std::size_t i = 0; i < times.size(); i += index_block_chunk * index_block_entry_bytes)
        detail::put_u32(sums, static_cast<std::uint32_t>(index_checksum(
                                  std::string_view(times).substr(i, index_block_chunk * index_block_entry_bytes))));
    std::string h;
    h.reserve(index_header_bytes);
    h.append(reinterpret_cast<const char*>(index_magic.data()), index_magic.size());
    detail::put_u32(h, index_version);
    detail::put_u32(h, static_cast<std::uint32_t>(index_header_bytes));
    detail::put_u64(h, c.capture.size);
    detail::put_u64(h, static_cast<std::uint64_t>(c.capture.mtime_sec));
    detail::put_u32(h, c.capture.mtime_nsec);
    detail::put_u32(h, c.linktype);
    h.append(reinterpret_cast<const char*>(c.capture.edge_digest.data()), 32);
    detail::put_u64(h, c.packets);
    detail::put_u64(h, c.indexed_end);
    detail::put_u32(h, c.frac_per_sec);
    detail::put_u32(h, c.block_bytes);
    detail::put_u32(h, static_cast<std::uint32_t>(c.blocks.size()));
    detail::put_u32(h, width);
    for (std::size_t t = 0; t < key_type_count; ++t) {
        detail::put_u32(h, key_counts[t]);
        detail::put_u32(h, static_cast<std::uint32_t>(keys[t].size()));
    }
    for (std::size_t t = 0; t < key_type_count; ++t) detail::put_u32(h, static_cast<std::uint32_t>(index_checksum(keys[t])));
    for (std::size_t t = 0; t < key_type_count; ++t) detail::put_u32(h, type_postings[t]);
    detail::put_u64(h, postings.size());
    detail::put_u32(h, static_cast<std::uint32_t>(index_checksum(offsets)));
    detail::put_u32(h, static_cast<std::uint32_t>(index_checksum(sums)));
    detail::put_u32(h, first_sec);
    detail::put_u32(h, first_frac);
    detail::put_u32(h, last_sec);
    detail::put_u32(h, last_frac);
    detail::put_u64(h, index_checksum(h));
    std::string out = std::move(h);
    out.reserve(out.size() + offsets.size() + times.size() + sums.size() + postings.size() + 4096);
    out += offsets;
    out += times;
    out += sums;
    for (const auto& k : keys) out += k;
    out += postings;
    return out;
}

/// One key of a key table, as read.
struct index_key_entry {
    index_key key;
    std::uint32_t count = 0;        ///< blocks in its list
    std::uint64_t offset = 0;       ///< of its list, from the start of the postings
    std::uint32_t bytes = 0;        ///< of its list
    std::uint32_t checksum = 0;
};

/// A sidecar opened for queries: the header read and checked at once; the
/// blocks' offsets, their times (by chunks), key tables and posting lists
/// read when asked for, each once. Every read is checked; any fault throws
/// index_error("PATH: why").
class index_reader {
public:
    /// Opens the sidecar at path. Throws index_error when it cannot be read
    /// or is not a sound sidecar of this version.
    explicit index_reader(const std::string& path) : path_(path) {
        try {
            fd_ = open_read(path);
        } catch (const error& e) {
            throw index_error(e.what());
        }
        struct stat st {};
        if (::fstat(fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) bad("not a regular file");
        file_size_ = static_cast<std::uint64_t>(st.st_size);
        // A query reads a few scattered pieces: the kernel's read-ahead
        // would read the whole sidecar, cold, for each of them.
        ::posix_fadvise(fd_.get(), 0, 0, POSIX_FADV_RANDOM);
        std::array<std::uint8_t, index_header_bytes> h{};
        if (file_size_ < index_header_bytes || !detail::pread_fully(fd_.get(), h.data(), h.size(), 0))
            bad("too short for a header");
        parse_header(h.data());
    }

    /// Reads a sidecar held in memory (tests, fuzzing). Same checks.
    static index_reader from_bytes(std::string bytes, std::string name = "<memory>") {
        index_reader r;
        r.path_ = std::move(name);
        r.memory_ = std::move(bytes);
        r.in_memory_ = true;
        r.file_size_ = r.memory_.size();
        if (r.file_size_ < index_header_bytes) r.bad("too short for a header");
        r.parse_header(reinterpret_cast<const std::uint8_t*>(r.memory_.data()));
        return r;
    }

    const std::string& path() const noexcept { return path_; }
    const capture_identity& capture() const noexcept { return capture_; }
    std::uint32_t linktype() const noexcept { return linktype_; }
    std::uint32_t frac_per_sec() const noexcept { return frac_per_sec_; }
    std::uint32_t block_bytes() const noexcept { return block_bytes_; }
    std::uint64_t packets() const noexcept { return packets_; }
    std::uint64_t indexed_end() const noexcept { return indexed_end_; }
    std::uint64_t size() const noexcept { return file_size_; }
    /// The earliest and latest packet of the whole capture (offset 0), as
    /// the header has them: a window holding both needs no block's times.
    const index_block& span() const noexcept { return span_; }
    /// How many blocks.
    std::size_t block_count() const noexcept { return block_count_; }
    /// Block b (b < block_count()): its offset, and its times read and
    /// checked with their chunk on first use.
    const index_block& block(std::size_t b) {
        const std::size_t c = b / index_block_chunk;
        if (!chunk_loaded_[c]) load_chunk(c);
        blocks_[b].offset = block_range(b).first;
        return blocks_[b];
    }
    /// Keys of all types together.
    std::uint64_t key_count() const noexcept {
        std::uint64_t n = 0;
        for (auto c : key_counts_) n += c;
        return n;
    }
    /// Keys of one type.
    std::uint32_t key_count(key_type t) const noexcept { return key_counts_[static_cast<std::size_t>(t)]; }

    /// Asks the kernel for the chunks of the block times that hold blocks
    /// (ascending), all at once, so that a cold disk reads them together.
    /// Throws nothing.
    void prefetch_times(const std::vector<std::uint32_t>& blocks) const noexcept {
        if (in_memory_) return;
        std::size_t last = SIZE_MAX;
        for (std::uint32_t b : blocks) {
            const std::size_t c = b / index_block_chunk;
            if (c == last || c >= chunk_loaded_.size() || chunk_loaded_[c]) continue;
            last = c;
            willneed(times_at_ + std::uint64_t{c} * index_block_chunk * index_block_entry_bytes,
                     index_block_chunk * index_block_entry_bytes);
        }
        if (!sums_loaded_) willneed(sums_at_, 4 * chunk_loaded_.size());
    }
    /// Asks the kernel for the blocks' offsets, which every query reads.
    /// Throws nothing.
    void prefetch_offsets() const noexcept {
        if (!in_memory_ && !offsets_loaded_) willneed(offsets_at_, block_count_ * width_);
    }
    /// Asks the kernel for the key table of type t. Throws nothing.
    void prefetch_keys(key_type t) const noexcept {
        const std::size_t i = static_cast<std::size_t>(t);
        if (!in_memory_ && !keys_loaded_[i]) willneed(key_offset_[i], key_bytes_[i]);
    }
    /// Asks the kernel for a key's posting list. Throws nothing.
    void prefetch_postings(const index_key_entry& e) const noexcept {
        if (!in_memory_) willneed(postings_offset_ + e.offset, e.bytes);
    }

    /// The byte range [begin, end) of block b (b < block_count()) in the
    /// capture, the offsets read at first use. Checked here, block by block
    /// (verify_all checks them all): a range holds a record header at least,
    /// after the file header, and ends by the indexed end.
    std::pair<std::uint64_t, std::uint64_t> block_range(std::size_t b) {
        if (!offsets_loaded_) load_offsets();
        const std::uint64_t from = offset_at(b), to = b + 1 < block_count_ ? offset_at(b + 1) : indexed_end_;
        if (from < 24 || to > indexed_end_ || to < from || to - from < 16) bad("block offsets out of order");
        return {from, to};
    }

    /// The keys of type t, sorted (read and checked on first use).
    const std::vector<index_key_entry>& keys(key_type t) {
        const std::size_t i = static_cast<std::size_t>(t);
        if (keys_loaded_[i]) return keys_[i];
        std::string raw = read(key_offset_[i], key_bytes_[i], "key table");
        if (static_cast<std::uint32_t>(index_checksum(raw)) != key_sums_[i]) bad("key table checksum mismatch");
        const auto* p = reinterpret_cast<const std::uint8_t*>(raw.data());
        const auto* end = p + raw.size();
        std::vector<index_key_entry> out;
        out.reserve(key_counts_[i]);
        std::uint64_t at = 0;
        for (std::uint32_t n = 0; n < key_counts_[i]; ++n) {
            index_key_entry e;
            e.key.type = t;
            if (static_cast<std::size_t>(end - p) < key_value_bytes[i]) bad("key table cut short");
            std::memcpy(e.key.value.data(), p, key_value_bytes[i]);
            p += key_value_bytes[i];
            std::uint64_t count = 0, bytes = 0;
            if (!detail::get_varint(p, end, count) || !detail::get_varint(p, end, bytes) || end - p < 4)
                bad("key table cut short");
            e.checksum = detail::get_u32(p);
            p += 4;
            if (count == 0 || count > block_count_ || bytes < count || bytes > count * 5 ||
                bytes > type_postings_[i] - at)
                bad("a key's posting list does not fit");
            if (!out.empty() && !(out.back().key < e.key)) bad("keys out of order");
            e.count = static_cast<std::uint32_t>(count);
            e.bytes = static_cast<std::uint32_t>(bytes);
            e.offset = at;
            at += bytes;
            out.push_back(e);
        }
        if (p != end) bad("key table longer than its keys");
        if (at != type_postings_[i]) bad("a key table does not add up to its posting lists");
        for (auto& e : out) e.offset += type_postings_offset_[i];
        keys_[i] = std::move(out);
        keys_loaded_[i] = true;
        return keys_[i];
    }

    /// The blocks of a key entry's list, ascending. Throws index_error
    /// when the list is damaged.
    std::vector<std::uint32_t> postings(const index_key_entry& e) {
        std::string raw = read(postings_offset_ + e.offset, e.bytes, "posting list");
        if (static_cast<std::uint32_t>(index_checksum(raw)) != e.checksum) bad("posting list checksum mismatch");
        const auto* p = reinterpret_cast<const std::uint8_t*>(raw.data());
        const auto* end = p + raw.size();
        std::vector<std::uint32_t> out;
        out.reserve(e.count);
        std::uint64_t cur = 0;
        for (std::uint32_t n = 0; n < e.count; ++n) {
            std::uint64_t v = 0;
            if (!detail::get_varint(p, end, v)) bad("posting list cut short");
            if (n > 0 && v == 0) bad("posting list not ascending");
            cur = n == 0 ? v : cur + v;
            if (cur >= block_count_) bad("posting list names a block past the last");
            out.push_back(static_cast<std::uint32_t>(cur));
        }
        if (p != end) bad("posting list longer than its blocks");
        return out;
    }

    /// The entry of key k, or nothing.
    std::optional<index_key_entry> find(const index_key& k) {
        const auto& v = keys(k.type);
        auto it = std::lower_bound(v.begin(), v.end(), k,
                                   [](const index_key_entry& e, const index_key& x) { return e.key < x; });
        if (it == v.end() || !(it->key == k)) return std::nullopt;
        return *it;
    }

    /// Reads and checks every section and posting list (cap-info, tests):
    /// a sidecar that passes holds no damage a query could meet.
    void verify_all() {
        std::uint64_t total = 0;
        for (std::size_t b = 0; b < block_count_; ++b) total += block(b).packets;  // and block_range(b)
        if (total != packets_) bad("block times do not add up to the packets");
        for (std::size_t t = 0; t < key_type_count; ++t)
            for (const auto& e : keys(static_cast<key_type>(t))) postings(e);
    }

private:
    index_reader() = default;

    [[noreturn]] void bad(const std::string& why) const { throw index_error(path_ + ": corrupt index: " + why); }

    void willneed(std::uint64_t off, std::uint64_t n) const noexcept {
        if (n) ::posix_fadvise(fd_.get(), static_cast<off_t>(off), static_cast<off_t>(n), POSIX_FADV_WILLNEED);
    }

    std::string read(std::uint64_t off, std::uint64_t n, const char* what) {
        if (off > file_size_ || n > file_size_ - off) bad(std::string(what) + " past the end of the file");
        if (in_memory_) return memory_.substr(static_cast<std::size_t>(off), static_cast<std::size_t>(n));
        std::string s(static_cast<std::size_t>(n), '\0');
        if (n && !detail::pread_fully(fd_.get(), &s[0], s.size(), off)) bad(std::string(what) + ": short read");
        return s;
    }

    void parse_header(const std::uint8_t* h) {
        using detail::get_u32;
        using detail::get_u64;
        if (!std::equal(index_magic.begin(), index_magic.end(), h)) bad("not a capture index (bad magic)");
        if (get_u32(h + 8) != index_version)
            throw index_error(path_ + ": index version " + std::to_string(get_u32(h + 8)) + ", this cap-index reads " +
                              std::to_string(index_version));
        if (get_u32(h + 12) != index_header_bytes) bad("unexpected header size");
        if (get_u64(h + index_header_bytes - 8) != index_checksum(h, index_header_bytes - 8))
            bad("header checksum mismatch");
        capture_.size = get_u64(h + 16);
        capture_.mtime_sec = static_cast<std::int64_t>(get_u64(h + 24));
        capture_.mtime_nsec = get_u32(h + 32);
        linktype_ = get_u32(h + 36);
        std::memcpy(capture_.edge_digest.data(), h + 40, 32);
        packets_ = get_u64(h + 72);
        indexed_end_ = get_u64(h + 80);
        frac_per_sec_ = get_u32(h + 88);
        block_bytes_ = get_u32(h + 92);
        block_count_ = get_u32(h + 96);
        width_ = get_u32(h + 100);
        offsets_sum_ = get_u32(h + 192);
        times_sum_ = get_u32(h + 196);
        span_.min_sec = get_u32(h + 200);
        span_.min_frac = get_u32(h + 204);
        span_.max_sec = get_u32(h + 208);
        span_.max_frac = get_u32(h + 212);
        span_.packets = static_cast<std::uint32_t>(std::min<std::uint64_t>(packets_, UINT32_MAX));
        if (width_ != 4 && width_ != 8) bad("unknown offset width");
        const std::uint64_t chunks = (block_count_ + index_block_chunk - 1) / index_block_chunk;
        offsets_at_ = index_header_bytes;
        times_at_ = offsets_at_ + block_count_ * width_;
        sums_at_ = times_at_ + block_count_ * index_block_entry_bytes;
        std::uint64_t at = sums_at_ + 4 * chunks;
        for (std::size_t t = 0; t < key_type_count; ++t) {
            key_counts_[t] = get_u32(h + 104 + 8 * t);
            key_bytes_[t] = get_u32(h + 108 + 8 * t);
            key_sums_[t] = get_u32(h + 144 + 4 * t);
            key_offset_[t] = at;
            at += key_bytes_[t];
        }
        std::uint64_t listed = 0;
        for (std::size_t t = 0; t < key_type_count; ++t) {
            type_postings_[t] = get_u32(h + 164 + 4 * t);
            type_postings_offset_[t] = listed;
            listed += type_postings_[t];
        }
        postings_bytes_ = get_u64(h + 184);
        postings_offset_ = at;
        if (listed != postings_bytes_) bad("posting lists do not add up");
        if (frac_per_sec_ != 1000000 && frac_per_sec_ != 1000000000) bad("unknown time resolution");
        if (indexed_end_ > capture_.size || (block_count_ == 0) != (packets_ == 0)) bad("sizes do not agree");
        if (width_ == 4 && indexed_end_ > 0xffffffffull) bad("offsets too narrow for the capture");
        if (postings_bytes_ > file_size_ || at > file_size_ || file_size_ - at != postings_bytes_)
            bad("sections do not add up to the file's size");
        if (block_count_ && later(span_.min_sec, span_.min_frac, span_.max_sec, span_.max_frac))
            bad("the capture's span ends before it starts");
        chunk_loaded_.assign(static_cast<std::size_t>(chunks), false);
    }

    static bool later(std::uint32_t s1, std::uint32_t f1, std::uint32_t s2, std::uint32_t f2) {
        return s1 > s2 || (s1 == s2 && f1 > f2);
    }

    // The offsets stay as read: a query decodes the few it needs.
    void load_offsets() {
        offsets_ = read(offsets_at_, block_count_ * width_, "block offsets");
        if (static_cast<std::uint32_t>(index_checksum(offsets_)) != offsets_sum_) bad("block offsets checksum mismatch");
        offsets_loaded_ = true;
    }
    std::uint64_t offset_at(std::size_t b) const {
        const auto* p = reinterpret_cast<const std::uint8_t*>(offsets_.data()) + b * width_;
        return width_ == 8 ? detail::get_u64(p) : detail::get_u32(p);
    }

    void load_sums() {
        std::string sums = read(sums_at_, 4 * chunk_loaded_.size(), "block times checksums");
        if (static_cast<std::uint32_t>(index_checksum(sums)) != times_sum_) bad("block times checksum mismatch");
        chunk_sums_.resize(chunk_loaded_.size());
        for (std::size_t c = 0; c < chunk_sums_.size(); ++c)
            chunk_sums_[c] = detail::get_u32(reinterpret_cast<const std::uint8_t*>(sums.data()) + 4 * c);
        sums_loaded_ = true;
    }

    void load_chunk(std::size_t c) {
        using detail::get_u32;
        if (!sums_loaded_) load_sums();
        if (blocks_.empty()) blocks_.resize(block_count_);
        const std::size_t first = c * index_block_chunk;
        const std::size_t n = std::min(index_block_chunk, block_count_ - first);
        std::string raw = read(times_at_ + std::uint64_t{first} * index_block_entry_bytes,
                               std::uint64_t{n} * index_block_entry_bytes, "block times");
        if (static_cast<std::uint32_t>(index_checksum(raw)) != chunk_sums_[c]) bad("block times checksum mismatch");
        const auto* p = reinterpret_cast<const std::uint8_t*>(raw.data());
        for (std::size_t i = first; i < first + n; ++i, p += index_block_entry_bytes) {
            index_block& b = blocks_[i];
            b.min_sec = get_u32(p);
            b.min_frac = get_u32(p + 4);
            b.max_sec = get_u32(p + 8);
            b.max_frac = get_u32(p + 12);
            b.packets = get_u32(p + 16);
            // Inside the capture's span: a query that trusts the span to
            // skip the blocks' times loses nothing.
            if (b.packets == 0 || later(b.min_sec, b.min_frac, b.max_sec, b.max_frac) ||
                later(span_.min_sec, span_.min_frac, b.min_sec, b.min_frac) ||
                later(b.max_sec, b.max_frac, span_.max_sec, span_.max_frac))
                bad("block times out of order");
        }
        chunk_loaded_[c] = true;
    }

    std::string path_;
    unique_fd fd_;
    std::string memory_;
    bool in_memory_ = false;
    std::uint64_t file_size_ = 0;
    capture_identity capture_;
    std::uint32_t linktype_ = 0;
    std::uint32_t frac_per_sec_ = 1000000;
    std::uint32_t block_bytes_ = 0;
    std::uint64_t packets_ = 0;
    std::uint64_t indexed_end_ = 0;
    std::size_t block_count_ = 0;
    std::uint64_t width_ = 4;
    index_block span_;
    std::uint32_t offsets_sum_ = 0, times_sum_ = 0;
    std::uint64_t offsets_at_ = 0, times_at_ = 0, sums_at_ = 0;
    std::string offsets_;
    bool offsets_loaded_ = false;
    std::vector<index_block> blocks_;
    std::vector<std::uint32_t> chunk_sums_;
    bool sums_loaded_ = false;
    std::vector<bool> chunk_loaded_;
    std::array<std::uint32_t, key_type_count> key_counts_{}, key_bytes_{}, key_sums_{};
    std::array<std::uint64_t, key_type_count> key_offset_{}, type_postings_{}, type_postings_offset_{};
    std::uint64_t postings_bytes_ = 0, postings_offset_ = 0;
    std::array<std::vector<index_key_entry>, key_type_count> keys_;
    std::array<bool, key_type_count> keys_loaded_{};
};

/// Where the sidecar of the capture at path lives: ".NAME.cidx" beside it,
/// or, with an index directory, "INDEX_DIR/NAME.HASH.cidx" (HASH: 16 hex
/// digits of the SHA-256 of the capture's absolute directory, so the same
/// name in two archives cannot collide). Throws error when the capture's
/// directory cannot be resolved.
inline std::string index_path_for(const std::string& path, const std::string& index_dir = "") {
    const std::string name = file_name_of(path);
    if (index_dir.empty()) {
        std::string dir = directory_of(path);
        return (path.find('/') == std::string::npos ? std::string() : dir + "/") + "." + name + ".cidx";
    }
    std::string dir = directory_of(path);
    char buf[PATH_MAX];
    if (!::realpath(dir.c_str(), buf)) throw system_failure(dir);
    std::string digest = hex_digest(buf, EVP_sha256());
    return index_dir + "/" + name + "." + digest.substr(0, 16) + ".cidx";
}

/// True when name (no directory) is a sidecar's name. Throws nothing.
inline bool is_index_name(std::string_view name) {
    return name.size() > 5 && name.substr(name.size() - 5) == ".cidx";
}

}  // namespace capture
