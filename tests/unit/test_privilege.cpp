// Who called, with how much privilege; paths inside the capture
// directories; which configuration files an elevated tool trusts; and what
// load_settings refuses an elevated caller.
#include "capture/config.hpp"
#include "capture/privilege.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace {

using test_support::temp_dir;

void unset_capture_env() {
    for (const char* v : {"CAPTURE_CONF", "CAPTURE_DIR", "CAPTURE_SYSLOG", "CAPTURE_SYSLOG_SOCKET"}) ::unsetenv(v);
}
struct clean_env {
    clean_env() { unset_capture_env(); }
    ~clean_env() { unset_capture_env(); }
};

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

TEST_CASE("a file the caller cannot read is never quoted") {
    capture::settings s;
    capture::config_reading hidden;
    hidden.show_text = false;
    CHECK_THROWS_WITH(capture::parse_config_text("dir = /x\nroot:secret:19000::\n", "/etc/shadow", s, hidden),
                      "/etc/shadow:2: not a \"key = value\" line (its text is not shown: the caller cannot read this file)");
    CHECK_THROWS_WITH(capture::parse_config_text("secret = 1\n", "f", s, hidden),
                      "f:1: an unknown key or a bad line (its text is not shown: the caller cannot read this file)");
    CHECK_THROWS_WITH(capture::parse_config_text("snaplen = secret\n", "f", s, hidden),
                      "f:1: snaplen: a bad value (its text is not shown: the caller cannot read this file)");
    CHECK_THROWS_WITH(capture::parse_config_text("duration = secret\n", "f", s, hidden),
                      "f:1: duration: a bad value (its text is not shown: the caller cannot read this file)");
    // Readable, it is quoted as before.
    CHECK_THROWS_WITH(capture::parse_config_text("root:secret\n", "f", s), "f:1: not a \"key = value\" line: 'root:secret'");
}

TEST_CASE("the admin's keys: limits, allowances, capture directories") {
    capture::settings s;
    capture::parse_config_text("max-size = 2G\ncapture-dir = /a\ncapture-dir = /b\nadmin-group = x, y\n"
                               "allow-config = c\nallow-dir = d\nallow-no-syslog = e,f\n", "f", s);
    CHECK(s.max_size == "2G");
    CHECK(s.capture_dirs == std::vector<std::string>{"/a", "/b"});
    CHECK(s.admin_groups == std::vector<std::string>{"x", "y"});
    CHECK(s.allow_config == std::vector<std::string>{"c"});
    CHECK(s.allow_dir == std::vector<std::string>{"d"});
    CHECK(s.allow_no_syslog == std::vector<std::string>{"e", "f"});
    capture::parse_config_text("max-size = 5%\n", "f", s);
    CHECK(s.max_size == "5%");
    CHECK_THROWS_WITH(capture::parse_config_text("max-size = 200%\n", "f", s),
                      "f:1: max-size: '200%' is not a size nor a share from 1% to 100%");
    CHECK(capture::max_size_bytes("1M", "/") == 1u << 20);
    CHECK(capture::max_size_bytes("0", "/") == 0);
    CHECK(capture::max_size_bytes("100%", "/tmp") >= capture::max_size_bytes("10%", "/tmp"));
}

// The machine has no /etc/capture.conf (helpers never write one): an
// elevated caller gets the built-in defaults and nothing of their own.
TEST_CASE("elevated, the caller's own choices are refused, saying what and why") {
    clean_env env;
    if (!capture::system_config_files().empty()) { WARN("skipped: this machine has its own /etc/capture.conf"); return; }
    auto p = sudo_caller();
    temp_dir t;
    std::string conf = t.path + "/evil.conf";
    std::ofstream(conf) << "user = root\n";
    ::chmod(t.path.c_str(), 0755);
    ::chmod(conf.c_str(), 0644);
    auto refused = [&](const capture::caller_choices& asked) -> std::string {
        try {
            capture::load_settings(asked, p);
        } catch (const capture::refusal& r) {
            return r.refused();
        }
        return "";
    };
    capture::caller_choices asked;
    CHECK(refused(asked).empty());
    CHECK(capture::load_settings(asked, p).dir == capture::default_capture_dir());
    asked.config = conf;
    CHECK(refused(asked) == "--config");
    asked = {};
    ::setenv("CAPTURE_CONF", conf.c_str(), 1);
    CHECK(refused(asked) == "CAPTURE_CONF");
    ::unsetenv("CAPTURE_CONF");
    asked.dir = t.path;
    CHECK(refused(asked) == "--dir");
    asked.dir = capture::default_capture_dir() + "/team";
    CHECK(refused(asked).empty());
    asked.dir = capture::default_capture_dir() + "/../../../etc";
    CHECK(refused(asked) == "--dir");
    asked = {};
    ::setenv("CAPTURE_DIR", "/etc/cron.d", 1);
    CHECK(refused(asked) == "CAPTURE_DIR");
    ::unsetenv("CAPTURE_DIR");
    asked.no_syslog = true;
    CHECK(refused(asked) == "--no-syslog");
    asked = {};
    ::setenv("CAPTURE_SYSLOG", "off", 1);
    CHECK(refused(asked) == "CAPTURE_SYSLOG");
    ::unsetenv("CAPTURE_SYSLOG");
    ::setenv("CAPTURE_SYSLOG_SOCKET", "/tmp/x", 1);
    CHECK(refused(asked) == "CAPTURE_SYSLOG_SOCKET");
    ::unsetenv("CAPTURE_SYSLOG_SOCKET");
    try {
        asked.config = conf;
        capture::load_settings(asked, p);
        FAIL("not refused");
    } catch (const capture::refusal& r) {
        CHECK(std::string(r.what()).find("--config: refused: ") == 0);
        CHECK(r.value() == conf);
        CHECK(r.reason().find("allow-config") != std::string::npos);
        CHECK(r.reason().find("for nobody by sudo") != std::string::npos);
    }
    // Not elevated, all of it is the user's own business, as before.
    asked = {};
    asked.config = conf;
    asked.dir = t.path;
    asked.no_syslog = true;
    auto s = capture::load_settings(asked, capture::privilege{});
    CHECK(s.capture_user == "root");
    CHECK(s.dir == t.path);
    CHECK_FALSE(s.audit.enabled);
}
