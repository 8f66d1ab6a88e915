// leftovers.hpp: the temporaries of killed tools are found (and only
// theirs), removed; a dead capture's file is cut after its last whole
// packet, a dead pull's output published over its link, and its record
// counts what the file holds.
#include "capture/engine/leftovers.hpp"
#include "capture/pcap/capture_writer.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

using namespace capture;

namespace {

using test_support::temp_dir;

// A process that has ended: its pid and start time.
temporary_owner dead_process() {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::pause();  // killed below, once its start time is read
        ::_exit(0);
    }
    std::uint64_t start = process_start_time(child).value_or(0);
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    return temporary_owner{child, start};
}

std::string temporary_of(const temp_dir& d, const std::string& base, const temporary_owner& o) {
    return d.path + "/." + base + "." + std::to_string(o.pid) + "-" + std::to_string(o.start) + ".abcdef.tmp";
}

// A capture of n packets of 100 bytes at path; returns its size.
std::uint64_t capture_of(const std::string& path, int n) {
    capture_writer w = capture_writer::to_file(path);
    w.add_interface(1, 65535);
    std::vector<std::uint8_t> data(100, 0x42);
    for (int i = 0; i < n; ++i) w.write(timestamp{1700000000 + i, 0}, data.data(), 100, 100);
    w.commit();
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
}

record dead_record(const std::string& file, const std::string& kind, const temporary_owner& o) {
    return record{{"id", "abcdef"}, {"kind", kind}, {"state", "running"}, {"analyst", "grant"}, {"file", file},
                  {"started", "2026-01-01T00:00:00Z"}, {"pid", std::to_string(o.pid)},
                  {"pstart", std::to_string(o.start)}};
}

}  // namespace

TEST_CASE("the temporaries of a process that is gone are leftovers; a live one's are not") {
    temp_dir d;
    const temporary_owner dead = dead_process();
    const std::string abandoned = temporary_of(d, "x.pcap", dead);
    std::ofstream(abandoned) << "half a capture";
    const std::string mine = temporary_path_for(d.path + "/y.pcap");
    std::ofstream(mine) << "being written";
    std::ofstream(d.path + "/.hidden") << "not ours";
    std::ofstream(d.path + "/z.pcap") << "a capture";
    // A pull killed before its record: its link, to its temporary.
    const std::string pull_temp = temporary_of(d, "p.past.pcap", dead);
    std::ofstream(pull_temp) << "";
    REQUIRE(::symlink(file_name_of(pull_temp).c_str(), (d.path + "/p.past.pcap").c_str()) == 0);
    // A link whose record exists is a dead pull's, for repair, not a leftover.
    const std::string recorded_temp = temporary_of(d, "q.past.pcap", dead);
    std::ofstream(recorded_temp) << "";
    REQUIRE(::symlink(file_name_of(recorded_temp).c_str(), (d.path + "/q.past.pcap").c_str()) == 0);
    std::ofstream(d.path + "/q.past.pcap.record") << "id=abcdef\tkind=pull\n";

    auto found = find_leftovers(d.path);
    std::vector<std::string> paths;
    for (const auto& l : found) {
        CHECK(l.pid == dead.pid);
        paths.push_back(l.path);
    }
    CHECK(paths == std::vector<std::string>{pull_temp, abandoned, d.path + "/p.past.pcap"});  // by path
    CHECK(found[1].bytes == 14);
    for (const auto& l : found) remove_leftover(l);
    CHECK(find_leftovers(d.path).empty());
    std::vector<std::string> kept{".hidden", file_name_of(mine), file_name_of(recorded_temp), "q.past.pcap",
                                  "q.past.pcap.record", "z.pcap"};
    std::sort(kept.begin(), kept.end());
    CHECK(d.entries() == kept);
    CHECK(find_leftovers(d.path + "/no/such/dir").empty());
}

TEST_CASE("a dead live capture's file is cut after its last whole packet and counted") {
    temp_dir d;
    const std::string file = d.path + "/grant_x_Thu.Jan01.2026-00.00.00.UTC_1767225600_.pcap";
    const std::uint64_t size = capture_of(file, 10);
    REQUIRE(::truncate(file.c_str(), static_cast<off_t>(size - 50)) == 0);  // killed in the middle of a write
    record r = dead_record(file, "live", dead_process());
    r.set("packets", "4");  // its last update, a second before
    r.set("bytes", std::to_string(24 + 4 * 116));
    const std::string rp = record_path_for(file);
    write_record_file(rp, r);

    auto repaired = repair_dead_capture(rp);
    REQUIRE(repaired);
    CHECK(repaired->get("packets") == "9");
    CHECK(repaired->get("bytes") == std::to_string(24 + 9 * 116));
    CHECK(repaired->get("repaired") == "yes");
    CHECK(read_record_file(rp).get("packets") == "9");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK(st.st_size == 24 + 9 * 116);
    capture_reader reader(file);
    packet_view p;
    int n = 0;
    while (reader.next(p)) ++n;
    CHECK(n == 9);
    CHECK_FALSE(repair_dead_capture(rp));  // once

    // A capture still running is not touched.
    record alive = dead_record(file, "live", temporary_owner{::getpid(), process_start_time(::getpid()).value_or(0)});
    write_record_file(rp, alive);
    CHECK_FALSE(repair_dead_capture(rp));
}

TEST_CASE("a dead pull's output is published over its link, or removed when it holds nothing") {
    temp_dir d;
    const temporary_owner dead = dead_process();
    const std::string file = d.path + "/grant_p_Thu.Jan01.2026-00.00.00.UTC_1767225600_.past.pcap";
    const std::string temp = temporary_of(d, file_name_of(file), dead);
    const std::uint64_t size = capture_of(temp, 7);
    REQUIRE(::truncate(temp.c_str(), static_cast<off_t>(size - 30)) == 0);
    REQUIRE(::symlink(file_name_of(temp).c_str(), file.c_str()) == 0);
    const std::string rp = record_path_for(file);
    record r = dead_record(file, "pull", dead);
    r.set("packets", "3");
    write_record_file(rp, r);
    auto repaired = repair_dead_capture(rp);
    REQUIRE(repaired);
    CHECK(repaired->get("packets") == "6");
    struct stat st {};
    REQUIRE(::lstat(file.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == 24 + 6 * 116);
    CHECK(d.entries() == std::vector<std::string>{file_name_of(file), file_name_of(rp)});

    // Killed before its header reached the file.
    const std::string empty = d.path + "/grant_e_Thu.Jan01.2026-00.00.00.UTC_1767225600_.past.pcap";
    const std::string empty_temp = temporary_of(d, file_name_of(empty), dead);
    std::ofstream(empty_temp) << "";
    REQUIRE(::symlink(file_name_of(empty_temp).c_str(), empty.c_str()) == 0);
    write_record_file(record_path_for(empty), dead_record(empty, "pull", dead));
    auto nothing = repair_dead_capture(record_path_for(empty));
    REQUIRE(nothing);
    CHECK(nothing->get("packets") == "0");
    CHECK_THAT(nothing->get("reason"), Catch::Contains("it had written nothing"));
    CHECK(::access(empty.c_str(), F_OK) != 0);
    CHECK(::access(empty_temp.c_str(), F_OK) != 0);
}
