// archive.hpp: layouts by name, the order and ends of files, selection by
// window with slack, unknown names opened for their first packet, problems
// named, coverage gaps.
#include "capture/engine/archive.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/filesystem/operations.hpp>

#include <sys/stat.h>
#include <utime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace capture;

namespace {

const test_support::utc_zone in_utc;

using test_support::temp_dir;

// A classic pcap (microseconds, Ethernet) with one 60-byte packet per time.
void write_pcap(const std::string& path, const std::vector<std::int64_t>& seconds, std::int64_t mtime = 0) {
    std::ofstream out(path, std::ios::binary);
    auto put32 = [&](std::uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    test_support::write_pcap_header(out);
    for (auto s : seconds) {
        put32(static_cast<std::uint32_t>(s));
        put32(0);
        put32(60);
        put32(60);
        std::string data(60, '\0');
        out.write(data.data(), 60);
    }
    out.close();
    if (mtime) {
        utimbuf t{static_cast<time_t>(mtime), static_cast<time_t>(mtime)};
        ::utime(path.c_str(), &t);
    }
}

}  // namespace

TEST_CASE("layouts are recognised by name") {
    auto dl = start_from_name("daemonlogger.pcap.1700000000");
    REQUIRE(dl);
    CHECK(dl->layout == archive_layout::daemonlogger);
    CHECK(dl->start == 1700000000);

    auto dc = start_from_name("ring_00003_20231114221320.pcap");
    REQUIRE(dc);
    CHECK(dc->layout == archive_layout::dumpcap);
    CHECK(dc->start == 1700000000);
    auto ng = start_from_name("ring_00003_20231114221320.pcapng");
    REQUIRE(ng);
    CHECK(ng->layout == archive_layout::dumpcap);

    auto td = start_from_name("trace.20231114221320.pcap");
    REQUIRE(td);
    CHECK(td->layout == archive_layout::tcpdump);
    CHECK(td->start == 1700000000);
    auto sep = start_from_name("sensor1-20231114-221320.pcap");
    REQUIRE(sep);
    CHECK(sep->start == 1700000000);

    CHECK_FALSE(start_from_name("trace.pcap"));
    CHECK_FALSE(start_from_name("trace.pcap1"));
    CHECK_FALSE(start_from_name("capture.pcap.12"));           // tcpdump -C numbering, not an epoch
    CHECK_FALSE(start_from_name("x_00001_99999999999999.pcap"));  // not a date
    CHECK_FALSE(start_from_name("serial.12345678901234"));     // 14 digits, not a date
}

TEST_CASE("a scan orders files, gives ends, and opens only unknown names") {
    temp_dir d;
    write_pcap(d.path + "/daemonlogger.pcap.1700000100", {1700000100, 1700000150}, 1700000150);
    write_pcap(d.path + "/daemonlogger.pcap.1700000000", {1700000001, 1700000090}, 1700000090);
    write_pcap(d.path + "/daemonlogger.pcap.1700000200", {1700000200, 1700000260}, 1700000260);
    write_pcap(d.path + "/trace", {1700000300, 1700000301}, 1700000301);
    write_pcap(d.path + "/empty.pcap", {});
    std::ofstream(d.path + "/notes.txt") << "not a capture\n";
    std::ofstream(d.path + "/daemonlogger.pcap.1700000000.sha256") << "x\n";
    std::ofstream(d.path + "/.hidden") << "x\n";

    archive_scan scan = scan_archives({d.path});
    REQUIRE(scan.files.size() == 4);
    CHECK(scan.opened == 3);  // trace, empty.pcap, notes.txt
    REQUIRE(scan.problems.size() == 1);
    CHECK_THAT(scan.problems[0], Catch::Contains("notes.txt") && Catch::Contains("not a pcap or pcapng file"));
    CHECK(scan.files[0].start == 1700000000);
    CHECK(scan.files[0].end == 1700000100);
    CHECK(scan.files[1].end == 1700000200);
    CHECK(scan.files[2].end == 1700000300);
    CHECK(scan.files[3].path == d.path + "/trace");
    CHECK(scan.files[3].opened);
    CHECK(scan.files[3].newest);
    CHECK(scan.files[3].end == 1700000301);
    for (std::size_t i = 0; i < scan.files.size(); ++i) CHECK(scan.files[i].order == i);

    SECTION("selection keeps files overlapping the window, with slack") {
        auto names = [](const std::vector<archive_file>& v) {
            std::vector<std::int64_t> s;
            for (const auto& f : v) s.push_back(f.start);
            return s;
        };
        CHECK(names(select_files(scan, 1700000120, 1700000130)) == std::vector<std::int64_t>{1700000100});
        // A window that starts just before a file's name: the file before it may hold it.
        CHECK(names(select_files(scan, 1700000199, 1700000210)) ==
              std::vector<std::int64_t>{1700000100, 1700000200});
        // A window that ends at a name: within the slack, that file may hold packets before its name.
        CHECK(names(select_files(scan, 1700000150, 1700000199)) ==
              std::vector<std::int64_t>{1700000100, 1700000200});
        CHECK(names(select_files(scan, 1700000150, 1700000195)) == std::vector<std::int64_t>{1700000100});
        CHECK(select_files(scan, 1600000000, 1600000100).empty());
        CHECK(select_files(scan, 1800000000, 1800000100).empty());  // after the newest file's last write
        CHECK(select_files(scan, time_min, time_max).size() == 4);
    }

    SECTION("coverage gaps inside the window") {
        auto gaps = coverage_gaps(scan.files, 1700000000, 1700000400);
        REQUIRE(gaps.size() == 4);
        CHECK(gaps[0].from == 1700000090);
        CHECK(gaps[0].to == 1700000100);
        CHECK(gaps[3].from == 1700000301);
        CHECK(gaps[3].to == 1700000400);
        CHECK(coverage_gaps(scan.files, 1700000110, 1700000140).empty());
        CHECK(coverage_gaps({}, 10, 100).size() == 1);
    }
}

TEST_CASE("several directories: ties in time keep the order of the directories") {
    temp_dir a, b;
    write_pcap(b.path + "/daemonlogger.pcap.1700000000", {1700000000}, 1700000000);
    write_pcap(a.path + "/daemonlogger.pcap.1700000000", {1700000000}, 1700000000);
    archive_scan scan = scan_archives({a.path, b.path, a.path + "/missing"});
    REQUIRE(scan.files.size() == 2);
    CHECK(scan.files[0].directory == 0);
    CHECK(scan.files[1].directory == 1);
    REQUIRE(scan.problems.size() == 1);
    CHECK_THAT(scan.problems[0], Catch::Contains("missing"));
}
