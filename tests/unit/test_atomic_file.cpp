// Atomic publication: whole files, never through a planted link.
#include "capture/atomic_file.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <boost/filesystem/operations.hpp>

#include <sys/stat.h>

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
