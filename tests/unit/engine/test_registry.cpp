// The registry: record files beside capture files, atomic replacement,
// listing, ids, and liveness by pid and start time.
#include "capture/engine/registry.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

using test_support::temp_dir;

capture::record sample(const std::string& dir, const std::string& id, const std::string& started) {
    return capture::record{{"id", id},
                           {"kind", "live"},
                           {"state", "running"},
                           {"analyst", "grant"},
                           {"file", dir + "/" + id + ".pcap"},
                           {"started", started},
                           {"pid", std::to_string(::getpid())},
                           {"pstart", std::to_string(capture::process_start_time(::getpid()).value_or(0))}};
}

}  // namespace

TEST_CASE("the record file sits beside the capture file") {
    CHECK(capture::record_path_for("/var/lib/capture/a_b_c_1_.pcap") == "/var/lib/capture/a_b_c_1_.pcap.record");
}

TEST_CASE("ids are six characters without look-alikes, and differ") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = capture::new_capture_id();
        CHECK(capture::looks_like_id(id));
        CHECK(id.find_first_of("lo01") == std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
    CHECK_FALSE(capture::looks_like_id("abc"));
    CHECK_FALSE(capture::looks_like_id("abcde1"));
    CHECK_FALSE(capture::looks_like_id("/tmp/x"));
}

TEST_CASE("records are written atomically and read back") {
    temp_dir d;
    std::string path = d.path + "/x.pcap.record";
    auto r = sample(d.path, "abcdef", "2026-01-01T00:00:00Z");
    r.set("desc", "tab\there, newline\nthere");
    capture::write_record_file(path, r, 0640, true);
    CHECK(capture::read_record_file(path) == r);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    r.set("state", "stopped");
    capture::write_record_file(path, r);
    CHECK(capture::read_record_file(path).get("state") == "stopped");
    // No temporary is left behind.
    auto entries = capture::list_registry(d.path);
    REQUIRE(entries.size() == 1);
    CHECK(std::system(("test -z \"$(ls -A '" + d.path + "' | grep '^\\.')\"").c_str()) == 0);
}

TEST_CASE("a record is not written through a symbolic link planted as the temporary") {
    temp_dir d;
    // Whatever the temporary's name, O_EXCL|O_NOFOLLOW never follows a link:
    // the write either takes another name or fails, the target stays intact.
    std::string target = d.path + "/target";
    std::ofstream(target) << "keep\n";
    for (int i = 0; i < 4; ++i)
        REQUIRE(::symlink(target.c_str(), (d.path + "/.r.record." + std::to_string(::getpid()) + "." +
                                           std::to_string(i) + ".tmp").c_str()) == 0);
    capture::write_record_file(d.path + "/r.record", sample(d.path, "abcdef", "2026-01-01T00:00:00Z"));
    std::ifstream in(target);
    std::string text;
    std::getline(in, text);
    CHECK(text == "keep");
}

TEST_CASE("reading refuses what is not a record") {
    temp_dir d;
    std::string path = d.path + "/bad.record";
    std::ofstream(path) << "just a line\n";
    CHECK_THROWS_WITH(capture::read_record_file(path), Catch::Contains("not a capture record"));
    CHECK_THROWS_WITH(capture::read_record_file(d.path + "/missing.record"), Catch::Contains("No such file"));
    // A FIFO planted as a record would hang every cap-ls on the sensor.
    std::string fifo = d.path + "/planted.pcap.record";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(capture::read_record_file(fifo), fifo + ": not a regular file");
    std::vector<std::string> problems;
    CHECK(capture::list_registry(d.path, &problems).empty());
    CHECK(problems.size() == 2);
}

TEST_CASE("listing: oldest first, temporaries and other files ignored, bad records reported") {
    temp_dir d;
    capture::write_record_file(d.path + "/b.pcap.record", sample(d.path, "bbbbbb", "2026-01-02T00:00:00Z"));
    capture::write_record_file(d.path + "/a.pcap.record", sample(d.path, "aaaaaa", "2026-01-03T00:00:00Z"));
    std::ofstream(d.path + "/.a.pcap.record.1.0.tmp") << "id=x\tkind=live\n";
    std::ofstream(d.path + "/a.pcap") << "";
    std::ofstream(d.path + "/junk.record") << "key\n";
    std::vector<std::string> problems;
    auto entries = capture::list_registry(d.path, &problems);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].rec.get("id") == "bbbbbb");
    CHECK(entries[1].rec.get("id") == "aaaaaa");
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("junk.record") != std::string::npos);
    CHECK(capture::list_registry(d.path + "/none").empty());
}

TEST_CASE("liveness needs the pid and the start time") {
    temp_dir d;
    auto r = sample(d.path, "abcdef", "2026-01-01T00:00:00Z");
    CHECK(capture::record_process_alive(r));
    CHECK(capture::effective_state(r) == "running");
    r.set("pstart", std::to_string(capture::process_start_time(::getpid()).value_or(0) + 1));
    CHECK_FALSE(capture::record_process_alive(r));
    CHECK(capture::effective_state(r) == "dead");
    r.set("pid", "junk");
    CHECK(capture::effective_state(r) == "dead");
    r.set("state", "stopped");
    CHECK(capture::effective_state(r) == "stopped");
}

TEST_CASE("a dead capture is marked once, with its end") {
    temp_dir d;
    auto r = sample(d.path, "abcdef", "2026-01-01T00:00:00Z");
    r.set("pstart", "1");  // not our start time: a reused pid
    std::string path = d.path + "/abcdef.pcap.record";
    capture::write_record_file(path, r);
    capture::registry_entry e{path, r};
    auto marked = capture::mark_dead_if_gone(e);
    REQUIRE(marked);
    CHECK(marked->get("state") == "dead");
    CHECK(marked->has("ended"));
    CHECK(capture::read_record_file(path).get("state") == "dead");
    CHECK_FALSE(capture::mark_dead_if_gone(capture::registry_entry{path, *marked}));
    // A live one is left alone.
    auto live = sample(d.path, "ghijkm", "2026-01-01T00:00:00Z");
    CHECK_FALSE(capture::mark_dead_if_gone(capture::registry_entry{path, live}));
}
