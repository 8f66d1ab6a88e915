// Capture directories: which can never hold a capture, which root may
// make usable, and how.
#include "capture/engine/capture_dir.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

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

TEST_CASE("root's new capture directory appears whole to every process racing to make it") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root (chown to the capture group)");
        return;
    }
    char parent[] = "/tmp/capture-dir-race.XXXXXX";
    REQUIRE(::mkdtemp(parent));
    const std::string dir = std::string(parent) + "/spool";
    const gid_t group = 4242;  // any group: root may give it
    constexpr int racers = 8, rounds = 40;
    int whole = 0;
    for (int round = 0; round < rounds; ++round) {
        // The racers start together: each waits for the end of one pipe.
        int go[2];
        REQUIRE(::pipe(go) == 0);
        std::vector<pid_t> children;
        for (int i = 0; i < racers; ++i) {
            pid_t pid = ::fork();
            REQUIRE(pid >= 0);
            if (pid == 0) {
                ::close(go[1]);
                char c;
                while (::read(go[0], &c, 1) > 0) {
                }
                // What cap-start does next: look at the directory it ensured.
                try {
                    capture::ensure_capture_dir(dir, true, group);
                    struct stat st {};
                    bool ok = ::stat(dir.c_str(), &st) == 0 && st.st_gid == group && (st.st_mode & 07777) == 02770;
                    ::_exit(ok ? 0 : 1);
                } catch (...) {
                    ::_exit(2);
                }
            }
            children.push_back(pid);
        }
        ::close(go[0]);
        ::close(go[1]);
        for (pid_t pid : children) {
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++whole;
        }
        // Nothing but the directory is left in its parent: no hidden temporary.
        std::vector<std::string> left;
        if (DIR* d = ::opendir(parent)) {
            while (dirent* e = ::readdir(d))
                if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") left.push_back(e->d_name);
            ::closedir(d);
        }
        REQUIRE(left == std::vector<std::string>{"spool"});
        REQUIRE(::rmdir(dir.c_str()) == 0);
    }
    CHECK(whole == racers * rounds);
    ::rmdir(parent);
}
