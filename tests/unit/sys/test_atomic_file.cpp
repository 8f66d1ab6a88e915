// Atomic publication: whole files, never through a planted link.
#include "capture/sys/atomic_file.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/filesystem/operations.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace {
using test_support::slurp;
using test_support::temp_dir;
}  // namespace

TEST_CASE("path pieces") {
    CHECK(capture::directory_of("/nsm/a.pcap") == "/nsm");
    CHECK(capture::directory_of("a.pcap") == ".");
    CHECK(capture::file_name_of("/nsm/a.pcap") == "a.pcap");
    CHECK(capture::file_name_of("a.pcap") == "a.pcap");
}

TEST_CASE("a file is written whole, replacing the old one, with its mode") {
    temp_dir dir;
    std::string path = dir.path + "/x.record";
    capture::write_file_atomically(path, "first\n", 0640);
    capture::write_file_atomically(path, "second\n", 0640);
    CHECK(slurp(path) == "second\n");
    capture::write_file_atomically(path, "third\n", 0640, capture::file_sync::start);  // not waited for: the same file
    CHECK(slurp(path) == "third\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == (0640 & ~[] { mode_t m = ::umask(0); ::umask(m); return m; }()));
    // No temporary file is left behind.
    auto entries = std::distance(boost::filesystem::directory_iterator(dir.path), {});
    CHECK(entries == 1);
}

TEST_CASE("a symbolic link planted at the name is replaced, never followed") {
    temp_dir dir;
    std::string victim = dir.path + "/victim";
    std::ofstream(victim) << "untouched\n";
    std::string path = dir.path + "/x.record";
    REQUIRE(::symlink(victim.c_str(), path.c_str()) == 0);
    capture::write_file_atomically(path, "record\n");
    CHECK(slurp(victim) == "untouched\n");
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(slurp(path) == "record\n");
}

TEST_CASE("an unwritable directory is an error naming the path") {
    CHECK_THROWS_WITH(capture::write_file_atomically("/nonexistent/dir/x", "y"),
                      Catch::StartsWith("/nonexistent/dir/x: No such file or directory"));
}

TEST_CASE("temporaries are named for the file they become and the process writing them") {
    const std::string t = capture::temporary_path_for("/nsm/caps/grant_x.pcap");
    const std::string name = capture::file_name_of(t);
    CHECK(capture::directory_of(t) == "/nsm/caps");
    CHECK(name.rfind(".grant_x.pcap." + std::to_string(::getpid()) + "-", 0) == 0);
    CHECK(name.size() > 4);
    CHECK(name.substr(name.size() - 4) == ".tmp");
    CHECK(capture::temporary_path_for("/nsm/caps/grant_x.pcap") != t);  // fresh letters each time
    auto owner = capture::temporary_owner_of(name);
    REQUIRE(owner);
    CHECK(owner->pid == ::getpid());
    CHECK(owner->start == capture::process_start_time(::getpid()).value_or(0));
    CHECK_FALSE(capture::temporary_abandoned(name));
    // A long name is cut, so the temporary's stays within NAME_MAX.
    CHECK(capture::file_name_of(capture::temporary_path_for(std::string(300, 'a'))).size() <= 255);
    CHECK(capture::temporary_path_for("x.pcap").rfind(".x.pcap.", 0) == 0);
    // What is not a temporary of ours.
    for (const char* other : {"x.pcap", ".x.pcap", ".x.pcap.tmp", ".x.pcap.12-34.abcde.tmp", ".x.pcap.12-3z.abcdef.tmp",
                              ".x.pcap.-34.abcdef.tmp", ".12-34.abcdef.tmp", "x.pcap.12-34.abcdef.tmp",
                              ".x.pcap.0-34.abcdef.tmp"})
        CHECK_FALSE(capture::temporary_owner_of(other));
    CHECK(capture::temporary_owner_of("..cap-merge-part-1.12-34.abcdef.tmp.56-78.ghijkl.tmp")->pid == 56);
}

TEST_CASE("a temporary whose process is gone is abandoned; a pid reused is not its owner") {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    auto start = capture::process_start_time(child);  // may already be gone: then 0 will do
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    const std::string gone = ".x.pcap." + std::to_string(child) + "-" + std::to_string(start.value_or(1)) + ".abcdef.tmp";
    CHECK(capture::temporary_abandoned(gone));
    // Our own pid with another start time: a process that had our pid once.
    const std::string reused = ".x.pcap." + std::to_string(::getpid()) + "-" +
                               std::to_string(capture::process_start_time(::getpid()).value_or(0) + 1) + ".abcdef.tmp";
    CHECK(capture::temporary_abandoned(reused));
    CHECK_FALSE(capture::temporary_abandoned("x.pcap"));
}
