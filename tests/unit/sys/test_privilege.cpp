// Who called, with how much privilege; paths inside the capture
// directories; which configuration files an elevated tool trusts.
#include "capture/sys/privilege.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace {

using test_support::temp_dir;

// A sudo caller as the tools see one (uid 65534, nobody, exists on any Debian).
capture::privilege sudo_caller() { return capture::detect_privilege(0, 0, false, "nobody", "65534"); }

}  // namespace

TEST_CASE("elevated: sudo, setuid, secure-exec; plain root and plain users are not") {
    auto plain_root = capture::detect_privilege(0, 0, false, nullptr, nullptr);
    CHECK_FALSE(plain_root.elevated);
    CHECK(plain_root.caller_uid == 0);
    auto sudo = sudo_caller();
    CHECK(sudo.elevated);
    CHECK(sudo.how == "sudo");
    CHECK(sudo.caller_uid == 65534);
    CHECK(sudo.caller == "nobody");
    auto by_name = capture::detect_privilege(0, 0, false, "nobody", nullptr);
    CHECK(by_name.elevated);
    CHECK(by_name.caller_uid == 65534);
    auto unknown = capture::detect_privilege(0, 0, false, "no-such-user-xq", nullptr);
    CHECK(unknown.elevated);
    CHECK(unknown.caller_uid == static_cast<uid_t>(-1));
    CHECK(unknown.caller == "no-such-user-xq");
    auto setuid = capture::detect_privilege(1000, 0, false, nullptr, nullptr);
    CHECK(setuid.elevated);
    CHECK(setuid.how == "setuid");
    CHECK(setuid.caller_uid == 1000);
    auto caps = capture::detect_privilege(1000, 1000, true, nullptr, nullptr);
    CHECK(caps.elevated);
    CHECK(caps.how == "secure-exec");
    auto user = capture::detect_privilege(1000, 1000, false, "someone", "0");  // SUDO_* of a non-root: ignored
    CHECK_FALSE(user.elevated);
}

TEST_CASE("a path is within a directory only after links and dots are resolved") {
    temp_dir t;
    std::string cap = t.path + "/cap", out = t.path + "/elsewhere";
    REQUIRE(::mkdir(cap.c_str(), 0755) == 0);
    REQUIRE(::mkdir(out.c_str(), 0755) == 0);
    REQUIRE(::symlink(out.c_str(), (cap + "/link").c_str()) == 0);
    CHECK(capture::path_within(cap, {cap}));
    CHECK(capture::path_within(cap + "/", {cap}));
    CHECK(capture::path_within(cap + "/new/deeper", {cap}));
    CHECK(capture::path_within(cap + "/./x", {cap}));
    CHECK_FALSE(capture::path_within(cap + "/link", {cap}));
    CHECK_FALSE(capture::path_within(cap + "/link/x", {cap}));
    CHECK_FALSE(capture::path_within(cap + "/../elsewhere", {cap}));
    CHECK_FALSE(capture::path_within(cap + "x", {cap}));
    CHECK_FALSE(capture::path_within(out, {cap}));
    CHECK_THROWS_AS(capture::resolved_path(cap + "/new/../../elsewhere"), capture::usage_error);
    CHECK(capture::path_within(out, {cap, out}));
}

TEST_CASE("only root's configuration files, in root's directories, are trusted") {
    CHECK(capture::untrusted_config_reason("/etc/passwd").empty());
    if (::geteuid() != 0) { WARN("skipped: the files must be root's: run as root"); return; }
    temp_dir t;
    std::string f = t.path + "/c.conf";
    std::ofstream(f) << "dir = /x\n";
    ::chmod(t.path.c_str(), 0755);
    ::chmod(f.c_str(), 0644);
    // /tmp is writable by all: a file beneath it is not trusted.
    CHECK(capture::untrusted_config_reason(f) == "/tmp is writable by group or others");
    ::chmod(f.c_str(), 0664);
    CHECK(capture::untrusted_config_reason(f) == "it is writable by group or others");
    REQUIRE(::chown(f.c_str(), 65534, 65534) == 0);
    CHECK(capture::untrusted_config_reason(f) == "it is not owned by root");
    CHECK(capture::untrusted_config_reason("/etc/passwd").empty());
    CHECK_FALSE(capture::untrusted_config_reason(t.path + "/missing").empty());
}

