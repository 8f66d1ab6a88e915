// Capture directories: which can never hold a capture, which root may
// make usable, and how.
#include "capture/engine/capture_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

TEST_CASE("a directory that can never hold a capture is named with why") {
    CHECK_THROWS_WITH(capture::check_capture_dir_usable("/proc"), Catch::Contains("proc pseudo filesystem"));
    CHECK_THROWS_WITH(capture::check_capture_dir_usable("/etc/passwd"), Catch::Contains("not a directory"));
    CHECK_NOTHROW(capture::check_capture_dir_usable("/nonexistent/dir"));  // made later
    CHECK_NOTHROW(capture::check_capture_dir_usable("/tmp"));
}

TEST_CASE("who may write a directory") {
    struct stat st {};
    st.st_uid = 0;
    st.st_gid = 100;
    st.st_mode = S_IFDIR | 02770;
    CHECK(capture::may_write_dir(st, 107, 100));
    CHECK_FALSE(capture::may_write_dir(st, 107, 101));
    CHECK(capture::may_write_dir(st, 0, 0));
    st.st_mode = S_IFDIR | 0755;
    CHECK_FALSE(capture::may_write_dir(st, 107, 100));
    st.st_mode = S_IFDIR | 01777;
    CHECK(capture::may_write_dir(st, 107, 101));
}

TEST_CASE("what a capture directory holds") {
    using capture::detail::capture_dir_entry;
    CHECK(capture_dir_entry("g_x_Tue.Feb17.2009-20.20.22.UTC_1234902022_.pcap"));
    CHECK(capture_dir_entry("g_x_Tue.Feb17.2009-20.20.22.UTC_1234902022_.past.pcap.record"));
    CHECK(capture_dir_entry("a.pcap.sha256"));
    CHECK(capture_dir_entry(".g_x_1234902022_.pcap.12345.tmp"));
    CHECK_FALSE(capture_dir_entry("notes.txt"));
    CHECK_FALSE(capture_dir_entry(".bashrc"));
    CHECK(capture::detail::shell_word("/tmp/d") == "/tmp/d");
    CHECK(capture::detail::shell_word("my dir") == "'my dir'");
    CHECK(capture::detail::shell_word("it's") == "'it'\\''s'");
}
