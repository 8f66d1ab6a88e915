// mutate_captures: makes many damaged capture files, deterministically,
// from good ones, for the bad-input sweep (tests/e2e/test_bad_input_sweep.sh).
//
//   mutate_captures SEED OUTDIR PER_SOURCE SOURCE...
//
// For each SOURCE (a pcap or pcapng file) it writes PER_SOURCE mutants to
// OUTDIR, cycling through the kinds of damage a sensor's files suffer: cut
// short at every kind of boundary (in the file header, a record header, a
// packet, a pcapng block), flipped bytes, huge and zero lengths, absurd
// snapshot lengths, bad magic, pcapng blocks whose lengths lie; then a few
// files of formats we do not read (empty, text, ELF, gzip, zstd, random).
// One line per file goes to stdout: "PATH<TAB>KIND<TAB>bad|any", "bad"
// when the damage is certain to make the file unreadable from some point
// on (a reader must say so), "any" when the file may still be valid.
//
// The structure of a source is found by a parser of its own here, not the
// library's reader, so the test does not grade the reader with itself.
// Randomness is a splitmix64 seeded by SEED and the source's position:
// the same arguments always make the same files, on every platform.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using bytes = std::vector<std::uint8_t>;

struct rng {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // A number in [lo, hi] (hi >= lo).
    std::uint64_t in(std::uint64_t lo, std::uint64_t hi) { return lo + next() % (hi - lo + 1); }
};

std::uint32_t get32(const bytes& b, std::size_t at, bool swap) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + at, 4);
    return swap ? __builtin_bswap32(v) : v;
}
void put32(bytes& b, std::size_t at, std::uint32_t v, bool swap) {
    if (swap) v = __builtin_bswap32(v);
    std::memcpy(b.data() + at, &v, 4);
}
void put16(bytes& b, std::size_t at, std::uint16_t v, bool swap) {
    if (swap) v = static_cast<std::uint16_t>(__builtin_bswap16(v));
    std::memcpy(b.data() + at, &v, 2);
}

// The structure of a source: where its records or blocks are.
struct unit {
    std::size_t offset, length;  // the whole record or block
    std::uint32_t type;          // pcapng block type; 0 for a pcap record
};
struct layout {
    bool pcapng = false;
    bool swap = false;             // pcap: the file's byte order is not ours
    std::size_t record_header = 16;  // pcap: 16, or 24 for the "modified" format
    std::vector<unit> units;       // pcap records or pcapng blocks, in order
    bool clean = false;            // every byte accounted for, every length consistent
};

layout parse(const bytes& b) {
    layout l;
    if (b.size() < 24) return l;
    std::uint32_t magic;
    std::memcpy(&magic, b.data(), 4);
    if (magic == 0x0a0d0d0a) {
        l.pcapng = true;
        std::size_t at = 0;
        bool swap = false;
        while (at + 12 <= b.size()) {
            std::uint32_t type;
            std::memcpy(&type, b.data() + at, 4);
            if (type == 0x0a0d0d0a) {
                std::uint32_t bom;
                std::memcpy(&bom, b.data() + at + 8, 4);
                if (bom == 0x1a2b3c4d) swap = false;
                else if (bom == 0x4d3c2b1a) swap = true;
                else return l;
            } else if (swap) {
                type = __builtin_bswap32(type);
            }
            std::uint32_t len = get32(b, at + 4, swap);
            if (len < 12 || len % 4 || len > b.size() - at || get32(b, at + len - 4, swap) != len) return l;
            l.units.push_back({at, len, type});
            at += len;
        }
        l.clean = at == b.size();
        return l;
    }
    std::uint32_t swapped = __builtin_bswap32(magic);
    for (std::uint32_t m : {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u}) {
        if (magic == m || swapped == m) {
            l.swap = swapped == m;
            l.record_header = m == 0xa1b2cd34u ? 24 : 16;
        }
    }
    if (l.record_header == 16 && magic != 0xa1b2c3d4u && swapped != 0xa1b2c3d4u && magic != 0xa1b23c4du &&
        swapped != 0xa1b23c4du)
        return l;
    // Versions before 2.3 have caplen and len exchanged: take the smaller as caplen.
    std::size_t at = 24;
    while (at + l.record_header <= b.size()) {
        std::uint32_t a = get32(b, at + 8, l.swap), c = get32(b, at + 12, l.swap);
        std::uint32_t caplen = a < c ? a : c;
        if (caplen > b.size() - at - l.record_header) return l;
        l.units.push_back({at, l.record_header + caplen, 0});
        at += l.record_header + caplen;
    }
    l.clean = at == b.size();
    return l;
}

// A gzip file holding data (stored, uncompressed deflate blocks): real
// gzip that `gzip -t` accepts, without needing zlib here.
bytes gzip_of(const bytes& data) {
    static std::uint32_t table[256];
    if (!table[1]) {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    std::uint32_t crc = 0xffffffffu;
    for (std::uint8_t x : data) crc = table[(crc ^ x) & 0xff] ^ (crc >> 8);
    crc ^= 0xffffffffu;
    bytes out = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    std::size_t at = 0;
    do {
        std::size_t n = std::min<std::size_t>(data.size() - at, 65535);
        bool last = at + n == data.size();
        out.push_back(last ? 1 : 0);
        std::uint16_t len = static_cast<std::uint16_t>(n), nlen = static_cast<std::uint16_t>(~len);
        out.insert(out.end(), {static_cast<std::uint8_t>(len), static_cast<std::uint8_t>(len >> 8),
                               static_cast<std::uint8_t>(nlen), static_cast<std::uint8_t>(nlen >> 8)});
        out.insert(out.end(), data.begin() + static_cast<std::ptrdiff_t>(at),
                   data.begin() + static_cast<std::ptrdiff_t>(at + n));
        at += n;
    } while (at < data.size());
    for (std::uint32_t v : {crc, static_cast<std::uint32_t>(data.size())})
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return out;
}

struct mutant {
    std::string kind;
    bytes data;
    bool bad;
};

// Damage of no particular kind: up to 16 random bytes changed anywhere.
void flip_bytes(mutant& m, rng& r) {
    m.kind = "flip-bytes";
    for (std::uint64_t i = r.in(1, 16); i > 0; --i)
        m.data[r.in(0, m.data.size() - 1)] ^= static_cast<std::uint8_t>(r.in(1, 255));
}

// One mutant of a pcap source; n chooses the kind.
mutant mutate_pcap(const bytes& src, const layout& l, rng& r, unsigned n) {
    mutant m{"", src, false};
    const bool certain = l.clean && !l.units.empty();
    const unit u = l.units.empty() ? unit{24, 0, 0} : l.units[r.in(0, l.units.size() - 1)];
    switch (n % 16) {
        case 0:
            m.kind = "trunc-file-header";
            m.data.resize(r.in(1, 23));
            m.bad = true;
            break;
        case 1:
            if (l.units.empty()) break;
            m.kind = "trunc-record-header";
            m.data.resize(u.offset + r.in(1, l.record_header - 1));
            m.bad = certain;
            break;
        case 2: {
            if (l.units.empty() || u.length <= l.record_header + 1) break;
            m.kind = "trunc-packet";
            m.data.resize(u.offset + r.in(l.record_header + 1, u.length - 1));
            m.bad = certain;
            break;
        }
        case 3:
            if (l.units.empty()) break;
            m.kind = "trunc-at-record";  // a clean cut: still a valid file
            m.data.resize(u.offset);
            break;
        case 4: {
            if (l.units.empty()) break;
            static const std::uint32_t huge[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 0x10000000u, 262145u, 0x40000u * 3};
            m.kind = "caplen-huge";
            std::uint32_t v = huge[r.in(0, 5)];
            put32(m.data, u.offset + 8, v, l.swap);
            put32(m.data, u.offset + 12, v, l.swap);  // both: older versions read the other field
            m.bad = certain && v > src.size();
            break;
        }
        case 5:
            if (l.units.empty()) break;
            m.kind = "caplen-zero";
            put32(m.data, u.offset + 8, 0, l.swap);
            break;
        case 6:
            if (l.units.empty()) break;
            m.kind = "len-zero-or-huge";
            put32(m.data, u.offset + 12, r.in(0, 1) ? 0 : 0xffffffffu, l.swap);
            break;
        case 7: {
            static const std::uint32_t snaplens[] = {0, 1, 0xffffffffu, 0x7fffffffu, 0x80000000u, 65535};
            m.kind = "snaplen-absurd";
            put32(m.data, 16, snaplens[r.in(0, 5)], l.swap);
            break;
        }
        case 8: {
            static const std::uint32_t linktypes[] = {0, 0xffff, 0xffffffffu, 231, 0x03ff0001u, 147};
            m.kind = "linktype-odd";
            put32(m.data, 20, linktypes[r.in(0, 5)], l.swap);
            break;
        }
        case 9:
            m.kind = "version-odd";
            put16(m.data, 4, static_cast<std::uint16_t>(r.in(0, 0xffff)), l.swap);
            put16(m.data, 6, static_cast<std::uint16_t>(r.in(0, 0xffff)), l.swap);
            break;
        case 10: {
            static const std::uint32_t magics[] = {0, 0xa1b2c3d5u, 0xd4c3b2a0u, 0x46494738u, 0x0a0d0d0bu, 0xffffffffu};
            m.kind = "magic-bad";
            put32(m.data, 0, magics[r.in(0, 5)], false);
            m.bad = true;
            break;
        }
        case 11:
            if (l.units.empty()) break;
            m.kind = "subsecond-out-of-range";
            put32(m.data, u.offset + 4, r.in(0, 1) ? 0xffffffffu : 1000000000u, l.swap);
            break;
        case 12:
            m.kind = "append-partial-header";
            for (std::uint64_t i = r.in(1, l.record_header - 1); i > 0; --i)
                m.data.push_back(static_cast<std::uint8_t>(r.next()));
            m.bad = l.clean;
            break;
        case 13:
            m.kind = "flip-header";
            for (std::uint64_t i = r.in(1, 4); i > 0; --i)
                m.data[r.in(0, std::min<std::size_t>(m.data.size(), 24 + l.record_header) - 1)] ^=
                    static_cast<std::uint8_t>(1u << r.in(0, 7));
            break;
        default:
            flip_bytes(m, r);
            break;
    }
    if (m.kind.empty()) flip_bytes(m, r);  // a kind this source cannot take
    return m;
}

// One mutant of a pcapng source.
mutant mutate_pcapng(const bytes& src, const layout& l, rng& r, unsigned n) {
    mutant m{"", src, false};
    const bool certain = l.clean;
    const unit& u = l.units[r.in(0, l.units.size() - 1)];
    auto block_swap = [&](const unit& b) {
        // The byte order of the section holding b: the last SHB before it.
        bool swap = false;
        for (const auto& s : l.units) {
            if (s.offset > b.offset) break;
            if (s.type == 0x0a0d0d0a) swap = get32(src, s.offset + 8, false) == 0x4d3c2b1a;
        }
        return swap;
    };
    const bool swap = block_swap(u);
    auto find = [&](std::uint32_t type) -> const unit* {
        std::vector<const unit*> all;
        for (const auto& b : l.units)
            if (b.type == type) all.push_back(&b);
        return all.empty() ? nullptr : all[r.in(0, all.size() - 1)];
    };
    switch (n % 14) {
        case 0:
            m.kind = "trunc-section-header";
            m.data.resize(r.in(1, l.units[0].length - 1));
            m.bad = true;
            break;
        case 1:
            m.kind = "trunc-block";
            m.data.resize(u.offset + r.in(1, u.length - 1));
            m.bad = certain;
            break;
        case 2:
            m.kind = "trunc-at-block";
            m.data.resize(u.offset == 0 ? u.length : u.offset);
            break;
        case 3: {
            static const std::uint32_t lies[] = {0, 4, 11, 13, 0xfffffffcu, 0x80000000u, 0xffffffffu, 14};
            m.kind = "block-length-lies";
            std::uint32_t v = lies[r.in(0, 7)];
            if (r.in(0, 2) == 0) v = static_cast<std::uint32_t>(u.length + 4 * r.in(1, 3));
            if (u.type == 0x0a0d0d0a && u.offset == 0 && v >= 12 && v <= 28) v = 0xfffffffcu;
            put32(m.data, u.offset + 4, v, swap);
            // A lie that happens to frame a block (a trailer equal to it) is not certain damage.
            bool frames = v >= 12 && v % 4 == 0 && v <= src.size() - u.offset &&
                          get32(src, u.offset + v - 4, swap) == v;
            m.bad = certain && !frames;
            break;
        }
        case 4:
            m.kind = "block-trailer-lies";
            put32(m.data, u.offset + u.length - 4, static_cast<std::uint32_t>(u.length + 4), swap);
            m.bad = certain;
            break;
        case 5:
        case 6:
        case 7: {
            // One field of an enhanced packet block: its captured length
            // (+20) beyond the block or zero, its interface (+8) unknown.
            const unit* e = find(6);
            if (!e || e->length < 32) break;
            const bool huge = n % 14 == 5, interface = n % 14 == 6;
            m.kind = huge ? "epb-caplen-huge" : interface ? "epb-interface-unknown" : "epb-caplen-zero";
            std::uint32_t v = huge ? static_cast<std::uint32_t>(r.in(0, 1) ? 0xffffffffu : e->length)
                                   : interface ? (r.in(0, 1) ? 0xffffffffu : 4096u) : 0u;
            put32(m.data, e->offset + (interface ? 8 : 20), v, block_swap(*e));
            m.bad = certain && (huge || interface);
            break;
        }
        case 8: {
            const unit* i = find(1);
            if (!i || i->length < 24) break;
            m.kind = "idb-option-length-lies";
            put16(m.data, i->offset + 18, static_cast<std::uint16_t>(r.in(0, 1) ? 0xffff : i->length), block_swap(*i));
            break;
        }
        case 9: {
            const unit* i = find(1);
            if (!i) break;
            m.kind = "idb-snaplen-absurd";
            put32(m.data, i->offset + 12, r.in(0, 1) ? 0xffffffffu : 1, block_swap(*i));
            break;
        }
        case 10:
            m.kind = "section-version-bad";
            put16(m.data, 12, static_cast<std::uint16_t>(r.in(2, 0xffff)), block_swap(l.units[0]));
            m.bad = true;
            break;
        case 11: {
            m.kind = "byte-order-magic-bad";
            std::uint32_t v = static_cast<std::uint32_t>(r.next());
            if (v == 0x1a2b3c4du || v == 0x4d3c2b1au) v = 0;
            put32(m.data, 8, v, false);
            m.bad = true;
            break;
        }
        case 12:
            m.kind = "append-partial-block";
            for (std::uint64_t i = r.in(1, 11); i > 0; --i) m.data.push_back(static_cast<std::uint8_t>(r.next()));
            m.bad = certain;
            break;
        default:
            flip_bytes(m, r);
            break;
    }
    if (m.kind.empty()) flip_bytes(m, r);
    return m;
}

// Files of formats we do not read, made from a source where that helps.
std::vector<mutant> foreign(const bytes& src, rng& r) {
    std::vector<mutant> out;
    out.push_back({"empty", {}, true});
    std::string text = "# not a capture\nid=abc\tkind=live\n\xff\xfe binary \x01\x02\n";
    out.push_back({"text", bytes(text.begin(), text.end()), true});
    std::ifstream self("/proc/self/exe", std::ios::binary);
    bytes elf(4096);
    self.read(reinterpret_cast<char*>(elf.data()), static_cast<std::streamsize>(elf.size()));
    elf.resize(static_cast<std::size_t>(self.gcount()));
    if (elf.size() >= 4) out.push_back({"elf", elf, true});
    out.push_back({"gzip", gzip_of(src), true});
    bytes zstd = {0x28, 0xb5, 0x2f, 0xfd};
    zstd.insert(zstd.end(), src.begin(), src.end());
    out.push_back({"zstd-magic", zstd, true});
    bytes noise(static_cast<std::size_t>(r.in(1, 4096)));
    for (auto& x : noise) x = static_cast<std::uint8_t>(r.next());
    noise[0] = 0x00;  // no magic starts with a zero byte
    out.push_back({"random", noise, true});
    bytes nul(1024, 0);
    out.push_back({"zeros", nul, true});
    return out;
}

bool write_file(const std::string& path, const bytes& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: mutate_captures SEED OUTDIR PER_SOURCE SOURCE...\n";
        return 2;
    }
    const std::uint64_t seed = std::strtoull(argv[1], nullptr, 10);
    const std::string outdir = argv[2];
    const unsigned per_source = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
    unsigned serial = 0;
    bool foreign_done = false;
    for (int s = 4; s < argc; ++s) {
        std::ifstream in(argv[s], std::ios::binary);
        bytes src((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        layout l = parse(src);
        if (l.units.empty() && !l.pcapng) {
            if (src.size() < 24) {
                std::cerr << "mutate_captures: " << argv[s] << ": not a capture we can mutate, skipped\n";
                continue;
            }
        }
        if (l.pcapng && l.units.empty()) {
            std::cerr << "mutate_captures: " << argv[s] << ": pcapng without a whole block, skipped\n";
            continue;
        }
        rng r{seed * 1000003u + static_cast<std::uint64_t>(s)};
        std::vector<mutant> all;
        // The kinds go on cycling from one source to the next, so that a
        // few mutants each of many sources still meet every kind.
        for (unsigned n = 0; n < per_source; ++n) {
            unsigned k = static_cast<unsigned>(s - 4) * per_source + n;
            all.push_back(l.pcapng ? mutate_pcapng(src, l, r, k) : mutate_pcap(src, l, r, k));
        }
        if (!foreign_done) {
            for (auto& f : foreign(src, r)) all.push_back(std::move(f));
            foreign_done = true;
        }
        std::string base = argv[s];
        base = base.substr(base.rfind('/') + 1);
        for (const auto& m : all) {
            char name[32];
            std::snprintf(name, sizeof name, "m%05u.", serial++);
            std::string path = outdir + "/" + name + m.kind + "." + base;
            if (!write_file(path, m.data)) {
                std::cerr << "mutate_captures: " << path << ": cannot write\n";
                return 1;
            }
            std::cout << path << '\t' << m.kind << '\t' << (m.bad ? "bad" : "any") << '\n';
        }
    }
    return 0;
}
