// merge.hpp: the order (time, then input order, or mergecap's later-input
// tie rule), lazy opening against a reference that opens every input,
// the tree merge, broken and unreadable inputs, link types, precision,
// snaplen, concatenation.
#include "capture/engine/merge.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace capture;

namespace {

using test_support::temp_dir;

// A packet as the tests see it: its time and a tag (input, number) in its bytes.
struct pkt {
    std::int64_t sec;
    std::uint32_t nsec;
    std::uint8_t input;
    std::uint16_t number;
    std::uint32_t linktype = 1;
    friend bool operator==(const pkt& a, const pkt& b) {
        return std::tie(a.sec, a.nsec, a.input, a.number, a.linktype) ==
               std::tie(b.sec, b.nsec, b.input, b.number, b.linktype);
    }
};

std::ostream& operator<<(std::ostream& os, const pkt& p) {
    return os << p.sec << "." << p.nsec << "#" << int(p.input) << ":" << p.number << "/lt" << p.linktype;
}

// Writes a capture holding packets at the given times, tagged with input.
std::string make_input(const temp_dir& dir, std::uint8_t input, const std::vector<std::pair<std::int64_t, std::uint32_t>>& times,
                       std::uint32_t linktype = 1, std::uint32_t snaplen = 65535, bool ns = false,
                       output_format format = output_format::pcap) {
    std::string path = dir.path + "/in" + std::to_string(input) + (format == output_format::pcap ? ".pcap" : ".pcapng");
    writer_options o;
    o.format = format;
    o.nanoseconds = ns;
    capture_writer w = capture_writer::to_file(path, o);
    std::uint32_t iface = w.add_interface(linktype, snaplen);
    std::uint16_t n = 0;
    for (const auto& t : times) {
        std::uint8_t data[20] = {};
        data[0] = input;
        std::memcpy(data + 1, &n, 2);
        w.write(timestamp{t.first, t.second}, data, sizeof data, sizeof data, iface);
        ++n;
    }
    w.commit();
    return path;
}

std::vector<pkt> read_all(const std::string& path) {
    capture_reader r(path);
    std::vector<pkt> out;
    packet_view p;
    while (r.next(p)) {
        pkt k{p.ts.sec, p.ts.nsec, p.data[0], 0, r.interfaces()[p.interface].linktype};
        std::memcpy(&k.number, p.data + 1, 2);
        out.push_back(k);
    }
    return out;
}

// What mergecap does, with every input open: the earliest next packet,
// ties to the earlier input (or the later one).
std::vector<pkt> reference_merge(const std::vector<std::vector<pkt>>& inputs, bool later_first) {
    std::vector<std::size_t> at(inputs.size(), 0);
    std::vector<pkt> out;
    for (;;) {
        int best = -1;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            if (at[i] >= inputs[i].size()) continue;
            const pkt& c = inputs[i][at[i]];
            if (best < 0) {
                best = static_cast<int>(i);
                continue;
            }
            const pkt& b = inputs[static_cast<std::size_t>(best)][at[static_cast<std::size_t>(best)]];
            bool earlier = c.sec < b.sec || (c.sec == b.sec && c.nsec < b.nsec);
            bool equal = c.sec == b.sec && c.nsec == b.nsec;
            if (earlier || (equal && later_first)) best = static_cast<int>(i);
        }
        if (best < 0) return out;
        out.push_back(inputs[static_cast<std::size_t>(best)][at[static_cast<std::size_t>(best)]++]);
    }
}

std::vector<pkt> merged(const std::vector<std::string>& paths, const std::string& out, merge_settings settings = {},
                        writer_options o = {}, merge_result* result = nullptr) {
    merge_plan plan = plan_merge(paths);
    o.nanoseconds = o.nanoseconds || plan.nanoseconds;
    capture_writer w = capture_writer::to_file(out, o);
    merge_result r = merge_captures(plan, w, settings);
    w.commit();
    if (result) *result = r;
    return read_all(out);
}

}  // namespace

TEST_CASE("packets come out in time order, ties in input order", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{10, 0}, {12, 0}, {14, 0}});
    auto b = make_input(dir, 1, {{10, 0}, {11, 0}, {14, 0}, {15, 0}});
    auto got = merged({a, b}, dir.path + "/out.pcap");
    std::vector<pkt> want{{10, 0, 0, 0}, {10, 0, 1, 0}, {11, 0, 1, 1}, {12, 0, 0, 1},
                          {14, 0, 0, 2}, {14, 0, 1, 2}, {15, 0, 1, 3}};
    CHECK(got == want);
}

TEST_CASE("later_input_first gives mergecap's order on ties", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{10, 0}, {14, 0}});
    auto b = make_input(dir, 1, {{10, 0}, {14, 0}});
    auto c = make_input(dir, 2, {{10, 0}});
    merge_settings s;
    s.later_input_first = true;
    auto got = merged({a, b, c}, dir.path + "/out.pcap", s);
    std::vector<pkt> want{{10, 0, 2, 0}, {10, 0, 1, 0}, {10, 0, 0, 0}, {14, 0, 1, 1}, {14, 0, 0, 1}};
    CHECK(got == want);
}

TEST_CASE("lazy opening gives what opening everything gives, out-of-order inputs included", "[merge]") {
    std::mt19937 rng(7);
    for (int round = 0; round < 40; ++round) {
        temp_dir dir;
        const int n = 1 + static_cast<int>(rng() % 8);
        std::vector<std::string> paths;
        std::vector<std::vector<pkt>> contents;
        for (int i = 0; i < n; ++i) {
            std::vector<std::pair<std::int64_t, std::uint32_t>> times;
            std::int64_t t = static_cast<std::int64_t>(rng() % 20);
            const int count = static_cast<int>(rng() % 12);
            for (int k = 0; k < count; ++k) {
                // Mostly forward, sometimes back (a clock step), many ties.
                t += static_cast<std::int64_t>(rng() % 3) - (rng() % 10 == 0 ? 4 : 0);
                if (t < 0) t = 0;
                times.emplace_back(t, static_cast<std::uint32_t>(rng() % 2) * 1000);
            }
            paths.push_back(make_input(dir, static_cast<std::uint8_t>(i), times));
            contents.push_back(read_all(paths.back()));
        }
        for (bool later : {false, true}) {
            merge_settings s;
            s.later_input_first = later;
            auto got = merged(paths, dir.path + "/out.pcap", s);
            INFO("round " << round << " later_first " << later);
            CHECK(got == reference_merge(contents, later));
        }
    }
}

TEST_CASE("a tree merge (more inputs than max_open) keeps the order and cleans up", "[merge]") {
    temp_dir dir;
    std::vector<std::string> paths;
    std::vector<std::vector<pkt>> contents;
    for (int i = 0; i < 11; ++i) {
        std::vector<std::pair<std::int64_t, std::uint32_t>> times;
        for (int k = 0; k < 5; ++k) times.emplace_back(100 + k * 3 + i % 4, 0);  // overlapping, with ties
        paths.push_back(make_input(dir, static_cast<std::uint8_t>(i), times));
        contents.push_back(read_all(paths.back()));
    }
    // 11 inputs by 3: 4 parts, then 2; by 2: 6 parts, 3, 2: a tree several levels deep.
    for (std::size_t max_open : {2, 3, 4})
        for (bool later : {false, true}) {
            merge_settings s;
            s.max_open = max_open;
            s.temp_dir = dir.path;
            s.later_input_first = later;
            auto got = merged(paths, dir.path + "/out.pcap", s);
            INFO("max_open " << max_open << " later_first " << later);
            CHECK(got == reference_merge(contents, later));
            CHECK(dir.entries().size() == 12);  // the 11 inputs and the output: no part file left
        }
}

TEST_CASE("a broken input: its packets before the break are kept, the others merged", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 0}, {3, 0}, {5, 0}, {7, 0}});
    auto b = make_input(dir, 1, {{2, 0}, {4, 0}, {6, 0}});
    // Cut a in the middle of its third packet (24 + 2 * 36 + 10 bytes).
    REQUIRE(::truncate(a.c_str(), 24 + 2 * 36 + 10) == 0);
    merge_result r;
    auto got = merged({a, b}, dir.path + "/out.pcap", {}, {}, &r);
    std::vector<pkt> want{{1, 0, 0, 0}, {2, 0, 1, 0}, {3, 0, 0, 1}, {4, 0, 1, 1}, {6, 0, 1, 2}};
    CHECK(got == want);
    REQUIRE(r.failures.size() == 1);
    CHECK_THAT(r.failures[0], Catch::Contains(a) && Catch::Contains("truncated"));
    CHECK(r.packets == 5);
}

TEST_CASE("the plan names unreadable inputs and leaves them out", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 0}});
    std::string junk = dir.path + "/junk.pcap";
    { std::ofstream(junk) << "not a capture\n"; }
    std::string missing = dir.path + "/missing.pcap";
    auto empty = make_input(dir, 3, {});
    merge_plan plan = plan_merge({a, junk, missing, empty});
    CHECK(plan.given == 4);
    REQUIRE(plan.failures.size() == 2);
    CHECK_THAT(plan.failures[0], Catch::Contains(junk) && Catch::Contains("not a pcap or pcapng file"));
    CHECK_THAT(plan.failures[1], Catch::Contains(missing) && Catch::Contains("No such file"));
    REQUIRE(plan.inputs.size() == 2);
    CHECK(plan.inputs[0].index == 0);
    CHECK(plan.inputs[1].index == 3);
    CHECK(plan.inputs[1].empty);
}

TEST_CASE("snaplen: the largest of the inputs, no snaplen counting as 262144", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 0}}, 1, 1500);
    auto b = make_input(dir, 1, {{2, 0}}, 1, 9000);
    CHECK(plan_merge({a, b}).snaplen == 9000);
    auto c = make_input(dir, 2, {{3, 0}}, 1, 0, false, output_format::pcapng);
    CHECK(plan_merge({a, c}).snaplen == standard_max_snaplen);
    merged({a, b}, dir.path + "/out.pcap");
    CHECK(capture_reader(dir.path + "/out.pcap").interfaces().at(0).snaplen == 9000);
}

TEST_CASE("mixed link types: pcapng with an interface each; pcap refused", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 0}, {3, 0}}, 1);
    auto b = make_input(dir, 1, {{2, 0}}, 113);
    merge_plan plan = plan_merge({a, b});
    CHECK(plan.linktypes == std::vector<std::uint32_t>{1, 113});
    writer_options ng;
    ng.format = output_format::pcapng;
    auto got = merged({a, b}, dir.path + "/out.pcapng", {}, ng);
    std::vector<pkt> want{{1, 0, 0, 0, 1}, {2, 0, 1, 0, 113}, {3, 0, 0, 1, 1}};
    CHECK(got == want);
    CHECK(capture_reader(dir.path + "/out.pcapng").interfaces().size() == 2);
    capture_writer w = capture_writer::to_file(dir.path + "/no.pcap");
    CHECK_THROWS_AS(merge_captures(plan, w), error);
}

TEST_CASE("nanoseconds are kept when any input has them", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 5000}}, 1, 65535, false);
    auto b = make_input(dir, 1, {{1, 4999}}, 1, 65535, true);
    merge_plan plan = plan_merge({a, b});
    CHECK(plan.nanoseconds);
    auto got = merged({a, b}, dir.path + "/out.pcap");
    REQUIRE(got.size() == 2);
    CHECK(got[0] == pkt{1, 4999, 1, 0});
    CHECK(capture_reader(dir.path + "/out.pcap").format() == file_format::pcap_ns);
}

TEST_CASE("pcapng inputs merge like pcap ones", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{1, 0}, {4, 0}}, 1, 65535, true, output_format::pcapng);
    auto b = make_input(dir, 1, {{2, 0}, {3, 0}}, 1, 65535, false);
    auto got = merged({a, b}, dir.path + "/out.pcap");
    std::vector<pkt> want{{1, 0, 0, 0}, {2, 0, 1, 0}, {3, 0, 1, 1}, {4, 0, 0, 1}};
    CHECK(got == want);
}

TEST_CASE("concatenation keeps input order whatever the times", "[merge]") {
    temp_dir dir;
    auto a = make_input(dir, 0, {{5, 0}, {6, 0}});
    auto b = make_input(dir, 1, {{1, 0}, {2, 0}});
    merge_settings s;
    s.concatenate = true;
    auto got = merged({a, b}, dir.path + "/out.pcap", s);
    std::vector<pkt> want{{5, 0, 0, 0}, {6, 0, 0, 1}, {1, 0, 1, 0}, {2, 0, 1, 1}};
    CHECK(got == want);
}

TEST_CASE("many inputs that do not overlap, as a rolling archive", "[merge]") {
    temp_dir dir;
    std::vector<std::string> paths;
    // Given newest first: the plan orders by first packet, the output is in time order.
    for (int i = 0; i < 200; ++i) {
        std::int64_t base = 1000 + (199 - i) * 10;
        paths.push_back(make_input(dir, static_cast<std::uint8_t>(i), {{base, 0}, {base + 1, 0}, {base + 2, 0}}));
    }
    auto got = merged(paths, dir.path + "/out.pcap");
    REQUIRE(got.size() == 600);
    for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i - 1].sec < got[i].sec);
}

TEST_CASE("a tree merge writes what a flat one does, snaplens below caplens included", "[merge]") {
    temp_dir dir;
    std::vector<std::string> paths;
    for (int i = 0; i < 7; ++i) {
        // Inputs whose packets (20 bytes) exceed their snaplen (10 or 12), as libpcap allows.
        std::string path = dir.path + "/s" + std::to_string(i) + ".pcap";
        writer_options o;
        o.raise_snaplen = false;
        capture_writer w = capture_writer::to_file(path, o);
        w.add_interface(i % 2 ? 1 : 113, i % 3 ? 10 : 12);
        std::uint8_t data[20] = {static_cast<std::uint8_t>(i)};
        for (int k = 0; k < 4; ++k) w.write(timestamp{100 + k * 2 + i % 3, 0}, data, 20, 20);
        w.commit();
        paths.push_back(path);
    }
    writer_options ng;
    ng.format = output_format::pcapng;
    auto flat = merged(paths, dir.path + "/flat.pcapng", {}, ng);
    merge_settings s;
    s.max_open = 2;
    s.temp_dir = dir.path;
    auto tree = merged(paths, dir.path + "/tree.pcapng", s, ng);
    CHECK(flat.size() == 28);
    CHECK(tree == flat);
    std::ifstream a(dir.path + "/flat.pcapng", std::ios::binary), b(dir.path + "/tree.pcapng", std::ios::binary);
    std::string fa((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    std::string fb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    CHECK(fa == fb);
    capture_reader r(dir.path + "/flat.pcapng");
    REQUIRE(r.interfaces().size() == 4);
    for (const auto& f : r.interfaces()) CHECK(f.snaplen == 20);  // raised to what was written
}
