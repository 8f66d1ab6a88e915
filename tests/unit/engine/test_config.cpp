// Configuration precedence (file < environment < command line) and the
// refusal of bad lines, named by file and line.
#include "capture/engine/cli.hpp"
#include "capture/engine/analyst.hpp"
#include "capture/engine/config.hpp"
#include "test_support.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

std::string write_temp(const std::string& text) {
    char name[] = "/tmp/capture-conf.XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    std::ofstream(name) << text;
    return name;
}

void unset_capture_env() {
    for (const char* v : {"CAPTURE_CONF", "CAPTURE_DIR", "CAPTURE_SYSLOG", "CAPTURE_SYSLOG_SOCKET"}) ::unsetenv(v);
}
// Each test starts and ends with none of our variables set.
struct clean_env {
    clean_env() { unset_capture_env(); }
    ~clean_env() { unset_capture_env(); }
};

// Runs a tool with argv through the shared runner, collecting its streams.
struct run_result {
    int status;
    std::string out, err;
    capture::settings seen;
};
run_result run(std::vector<std::string> args, bool with_jobs = false) {
    capture::cli::tool t("cap-test", "a test tool", "[FILE]...");
    t.takes_operands("FILE");
    if (with_jobs) t.takes_jobs("things done");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    run_result r{};
    std::ostringstream out, err;
    // The runner writes to std::cout/cerr; capture them for the test.
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    r.status = t.run(static_cast<int>(argv.size()), argv.data(), [&](capture::cli::context& ctx) {
        r.seen = ctx.config;
        return capture::exit_ok;
    });
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

}  // namespace

TEST_CASE("a configuration file sets the keys it names") {
    clean_env env;
    std::string path = write_temp("# sensor defaults\ndir = /nsm/captures\nsyslog = local3\nalgo = sha512\n");
    capture::settings s;
    capture::read_config_file(path, s);
    CHECK(s.dir == "/nsm/captures");
    CHECK(s.audit.enabled);
    CHECK(s.audit.facility == LOG_LOCAL3);
    CHECK(s.algo == "sha512");
    std::remove(path.c_str());
}

TEST_CASE("unknown keys and bad values name the file and the line") {
    clean_env env;
    std::string path = write_temp("dir = /x\n\n# comment\ncolour = blue\n");
    capture::settings s;
    try {
        capture::read_config_file(path, s);
        FAIL("unknown key accepted");
    } catch (const capture::usage_error& e) {
        CHECK(std::string(e.what()).find(path + ":4:") == 0);
        CHECK(std::string(e.what()).find("colour") != std::string::npos);
    }
    std::string bad = write_temp("dir = /x\nsyslog = kernel\n");
    try {
        capture::read_config_file(bad, s);
        FAIL("bad facility accepted");
    } catch (const capture::usage_error& e) {
        CHECK(std::string(e.what()).find(bad + ":2:") == 0);
    }
    std::remove(path.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("junk in a configuration file is refused with its line, quoted safely") {
    capture::settings s;
    auto refusal = [&](const std::string& text) {
        try {
            capture::parse_config_text(text, "/etc/capture.conf", s);
        } catch (const capture::usage_error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK(refusal("dir = /x\njunk line here\n") ==
          "/etc/capture.conf:2: not a \"key = value\" line: 'junk line here'");
    // Binary bytes and escape sequences come back as \xNN, never raw to a terminal.
    using namespace std::string_literals;
    CHECK(refusal("# ok\n\x01\x02" "binary\x1b[31m\0\n"s) ==
          "/etc/capture.conf:2: not a \"key = value\" line: '\\x01\\x02binary\\x1b[31m\\x00'");
    CHECK(refusal("# no sections\n[capture]\ndir = /x\n") ==
          "/etc/capture.conf:2: unrecognised option 'capture.dir' (the file has no [sections])");
    CHECK(refusal("snaplen = 99999999999999999999\n") ==
          "/etc/capture.conf:1: the argument ('99999999999999999999') for option 'snaplen' is invalid");
    CHECK(refusal("dir = /x\ndir = /y\n").find("/etc/capture.conf:1: ") == 0);
    CHECK(refusal("syslog = off\nsyslog-socket = " + std::string(100000, 's') + "\n") == "accepted");

    std::string big = write_temp(std::string(capture::max_config_bytes + 1, '#'));
    CHECK_THROWS_WITH(capture::read_config_file(big, s), big + ": larger than 1 MiB: not a configuration file");
    std::remove(big.c_str());
}

TEST_CASE("precedence: file < environment < command line") {
    clean_env env;
    std::string path = write_temp("dir = /from/file\nsyslog = off\n");
    ::setenv("CAPTURE_CONF", path.c_str(), 1);
    auto from_file = run({"cap-test"});
    REQUIRE(from_file.status == 0);
    CHECK(from_file.seen.dir == "/from/file");
    CHECK_FALSE(from_file.seen.audit.enabled);

    ::setenv("CAPTURE_DIR", "/from/env", 1);
    CHECK(run({"cap-test"}).seen.dir == "/from/env");
    CHECK(run({"cap-test", "--dir", "/from/cli"}).seen.dir == "/from/cli");
    std::remove(path.c_str());
}

TEST_CASE("the runner answers --help and --version, refuses bad options with 2") {
    clean_env env;
    ::setenv("CAPTURE_SYSLOG", "off", 1);
    auto help = run({"cap-test", "--help"});
    CHECK(help.status == 0);
    CHECK(help.out.find("Usage: cap-test [FILE]...") == 0);
    CHECK(help.out.find("--dir") != std::string::npos);
    auto version = run({"cap-test", "--version"});
    CHECK(version.out.find("cap-test (capture) ") == 0);
    auto bad = run({"cap-test", "--no-such-option"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("cap-test: ") == 0);
    CHECK(bad.err.find("--no-such-option") != std::string::npos);
    auto missing = run({"cap-test", "--config", "/nonexistent/capture.conf"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("/nonexistent/capture.conf: No such file or directory") != std::string::npos);
}

namespace {

// The message read_config_file gives for text, or "" when it is accepted.
std::string config_error(const std::string& text, std::string* path_out = nullptr) {
    std::string path = write_temp(text);
    if (path_out) *path_out = path;
    capture::settings s;
    std::string message;
    try {
        capture::read_config_file(path, s);
    } catch (const capture::usage_error& e) {
        message = e.what();
    }
    std::remove(path.c_str());
    return message;
}

}  // namespace

TEST_CASE("buffer size, file mode, vlan, durations and links are read and checked") {
    clean_env env;
    std::string path = write_temp(
        "buffer-size = 128M\nfile-mode = 0660\nvlan = yes\nduration = 2h\nmax-duration = 1d\n"
        "link = ids=https://ids.example/?q={host}\nlink = pdns=https://pdns.example/{host}\n");
    capture::settings s;
    CHECK(s.buffer_bytes == 0);
    CHECK(s.file_mode == 0640);
    CHECK_FALSE(s.vlan);
    CHECK(s.duration == "1d");
    CHECK(s.max_duration == "1d");
    CHECK(s.max_size == "10%");
    capture::read_config_file(path, s);
    CHECK(s.buffer_bytes == 128u << 20);
    CHECK(s.file_mode == 0660);
    CHECK(s.vlan);
    CHECK(s.duration == "2h");
    CHECK(s.max_duration == "1d");
    REQUIRE(s.links.size() == 2);
    CHECK(s.links[0].name == "ids");
    CHECK(s.links[1].url == "https://pdns.example/{host}");
    std::remove(path.c_str());
}

TEST_CASE("a bad value of a new key names the file and its line") {
    clean_env env;
    struct bad_case {
        std::string text;
        std::string line;
        std::string says;
    };
    for (const auto& c : std::vector<bad_case>{
             {"dir = /x\nbuffer-size = lots\n", ":2: ", "buffer-size: 'lots' is not a size"},
             {"buffer-size = 4K\n", ":1: ", "buffer-size: '4K' is not between 64K and 1G"},
             {"\nfile-mode = 0777\n", ":2: ", "file-mode: '0777' must not let others write"},
             {"file-mode = u=rw\n", ":1: ", "file-mode: 'u=rw' is not an octal mode"},
             {"# x\n\n\nvlan = perhaps\n", ":4: ", "vlan"},
             {"duration = soon\n", ":1: ", "duration: 'soon' is not a duration"},
             {"stale-age = 1d\nmax-duration = 3x\n", ":2: ", "max-duration: '3x' is not a duration"},
             {"snaplen = -5\n", ":1: ", "snaplen: must not be negative"},
             // The second of two links is the bad one: its own line is named.
             {"link = a=https://a/{host}\nlink = b=https://b/{hots}\n", ":2: ", "unknown placeholder {hots}"},
             {"link = nourl\n", ":1: ", "'nourl' is not NAME=URL"},
             {"# the default\n#duration = 1d\nduration = 2 days # too long\n", ":3: ", "duration: '2 days'"},
         }) {
        std::string path;
        std::string message = config_error(c.text, &path);
        INFO(c.text);
        CHECK(message.find(path + c.line) == 0);
        CHECK(message.find(c.says) != std::string::npos);
    }
}

TEST_CASE("a bad configuration value stops a tool with exit 2") {
    clean_env env;
    std::string path = write_temp("syslog = off\nfile-mode = 0447\n");
    auto r = run({"cap-test", "--config", path});
    CHECK(r.status == 2);
    CHECK(r.err.find("cap-test: " + path + ":2: file-mode: '0447'") == 0);
    std::remove(path.c_str());
}

TEST_CASE("--vlan and --no-vlan override the vlan key, and exclude each other") {
    clean_env env;
    std::string path = write_temp("syslog = off\nvlan = true\n");
    ::setenv("CAPTURE_CONF", path.c_str(), 1);
    auto vlan_of = [](std::vector<std::string> args) {
        capture::cli::tool t("cap-test", "a test tool", "");
        t.add_options()("vlan", "")("no-vlan", "");
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        int seen = -1;
        std::ostringstream err;
        auto* old_err = std::cerr.rdbuf(err.rdbuf());
        int status = t.run(static_cast<int>(argv.size()), argv.data(), [&](capture::cli::context& ctx) {
            seen = capture::cli::vlan_wanted(ctx) ? 1 : 0;
            return capture::exit_ok;
        });
        std::cerr.rdbuf(old_err);
        return status == 2 ? 2 : seen;
    };
    CHECK(vlan_of({"cap-test"}) == 1);
    CHECK(vlan_of({"cap-test", "--no-vlan"}) == 0);
    CHECK(vlan_of({"cap-test", "--vlan", "--no-vlan"}) == 2);
    std::string off = write_temp("syslog = off\n");
    ::setenv("CAPTURE_CONF", off.c_str(), 1);
    CHECK(vlan_of({"cap-test"}) == 0);
    CHECK(vlan_of({"cap-test", "--vlan"}) == 1);
    std::remove(path.c_str());
    std::remove(off.c_str());
}

namespace {

const std::string example_conf = CAPTURE_SOURCE_DIR "/etc/capture.conf";

// The example's lines; with uncomment, "#key = value" lines become settings.
std::string example_text(bool uncomment) {
    std::ifstream in(example_conf);
    REQUIRE(in);
    std::string line, out;
    while (std::getline(in, line)) {
        bool setting = line.size() > 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
                       line.find(" = ") != std::string::npos;
        out += (uncomment && setting ? line.substr(1) : line) + "\n";
    }
    return out;
}

}  // namespace

TEST_CASE("the example capture.conf documents every key, and sets nothing as installed") {
    clean_env env;
    std::string text = example_text(false);
    const auto keys = capture::config_file_keys();
    for (const auto& option : keys.options()) {
        INFO(option->long_name());
        CHECK(text.find("\n#" + option->long_name() + " = ") != std::string::npos);
    }
    capture::settings defaults, s;
    capture::read_config_file(example_conf, s);
    CHECK(s.config_file == example_conf);
    CHECK(s.dir == defaults.dir);
    CHECK(s.archives.empty());
    CHECK(s.links.empty());
    CHECK(s.file_mode == defaults.file_mode);
    CHECK(s.duration == defaults.duration);
}

TEST_CASE("the example's settings, uncommented, are valid and are the defaults they claim") {
    clean_env env;
    std::string path = write_temp(example_text(true));
    capture::settings defaults, s;
    capture::read_config_file(path, s);
    CHECK(s.dir == "/var/lib/capture");
    CHECK(s.archives == std::vector<std::string>{"/nsm/daemonlogger", "/nsm/dumpcap"});
    CHECK(s.interface == "eth1");
    CHECK(s.snaplen == 262144);
    CHECK(s.buffer_bytes == 32u << 20);  // the built-in default of cap-start
    CHECK(s.vlan == defaults.vlan);
    CHECK(s.duration == defaults.duration);
    CHECK(s.max_duration == defaults.max_duration);
    CHECK(s.stale_age == defaults.stale_age);
    CHECK(s.file_mode == defaults.file_mode);
    CHECK(s.audit.enabled);
    CHECK(s.audit.facility == defaults.audit.facility);
    CHECK(s.audit.socket_path == defaults.audit.socket_path);
    CHECK(s.algo == defaults.algo);
    CHECK(s.sidecar == defaults.sidecar);
    REQUIRE(s.links.size() == 4);
    CHECK(s.links[0].name == "ids");
    CHECK(s.links[0].url == "https://so.example/{hash}/hunt?q={host}");
    std::remove(path.c_str());
}

TEST_CASE("an argument holding one of Boost's placeholders is refused, not looped on") {
    // Boost fills %value% into its message until none is left: with these,
    // what() never returned (cap-start -s %value% hung for good).
    clean_env env;
    ::setenv("CAPTURE_SYSLOG", "off", 1);
    auto value = run({"cap-test", "--jobs", "%value%"}, true);
    CHECK(value.status == 2);
    CHECK_THAT(value.err, Catch::StartsWith("cap-test: the argument ('%value%') for option '--jobs' is invalid"));
    auto name = run({"cap-test", "--%canonical_option%"});
    CHECK(name.status == 2);
    CHECK_THAT(name.err, Catch::StartsWith("cap-test: unrecognised option '--%canonical_option%'"));
    capture::settings s;
    CHECK_THROWS_WITH(capture::parse_config_text("dir = /x\nsnaplen = %value%%prefix%\n", "f.conf", s),
                      "f.conf:2: the argument ('%value%%prefix%') for option 'snaplen' is invalid");
    CHECK_THROWS_WITH(capture::parse_config_text("%canonical_option% = 1\n", "f.conf", s),
                      "f.conf:1: unrecognised option '%canonical_option%'");
    // A '%' where all is well is just a '%'.
    capture::parse_config_text("dir = /nsm/100%\n", "f.conf", s);
    CHECK(s.dir == "/nsm/100%");
}

TEST_CASE("analyst = NAME: the default analyst; before it SUDO_USER, then the user") {
    clean_env env;
    capture::settings s;
    capture::parse_config_text("analyst = carol\n", "test.conf", s);
    CHECK(s.analyst == "carol");
    CHECK(capture::default_analyst(s) == "carol");
    capture::settings none;
    ::setenv("SUDO_USER", "sudoer", 1);
    CHECK(capture::default_analyst(none) == "sudoer");
    CHECK(capture::default_analyst(s) == "carol");
    ::unsetenv("SUDO_USER");
    CHECK(capture::default_analyst(none) == capture::current_actor().user);
}

TEST_CASE("link = NAME = URL: blanks around the second '=' too") {
    capture::settings s;
    capture::parse_config_text("link = ids = https://x/{host}\nlink=pdns=https://p/{host}\n", "test.conf", s);
    REQUIRE(s.links.size() == 2);
    CHECK(s.links[0].name == "ids");
    CHECK(s.links[0].url == "https://x/{host}");
    CHECK(s.links[1].name == "pdns");
}

// Elevated (under sudo, setuid): what the caller may not choose, and what
// is never quoted to them.
namespace {
// A sudo caller as the tools see one (uid 65534, nobody, exists on any Debian).
capture::privilege sudo_caller() { return capture::detect_privilege(0, 0, false, "nobody", "65534"); }
}  // namespace

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
    test_support::temp_dir t;
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

TEST_CASE("fleet keys: sensors add up, groups are NAME: SENSOR..., a bad one is named with its line") {
    capture::settings s;
    capture::parse_config_text("sensors = a b\nsensors = c,d\nsensor-group = dmz: a, c\nsensor-group = x:\n"
                               "ssh-command = ssh -F /etc/f\nsensor-command = /usr/bin/cap-pull\nsensor-timeout = 30s\n",
                               "f.conf", s);
    CHECK(s.sensors == std::vector<std::string>{"a", "b", "c", "d"});
    REQUIRE(s.sensor_groups.size() == 2);
    CHECK(s.sensor_groups[0].first == "dmz");
    CHECK(s.sensor_groups[0].second == std::vector<std::string>{"a", "c"});
    CHECK(s.sensor_groups[1].second.empty());
    CHECK(s.ssh_command == "ssh -F /etc/f");
    CHECK(s.sensor_command == "/usr/bin/cap-pull");
    CHECK(s.sensor_timeout == "30s");
    capture::settings t;
    CHECK_THROWS_WITH(capture::parse_config_text("dir = /x\nsensor-group = no colon\n", "g.conf", t),
                      Catch::Contains("g.conf:2: sensor-group: 'no colon' is not 'NAME: SENSOR...'"));
    CHECK_THROWS_WITH(capture::parse_config_text("sensor-group = all: a\n", "g.conf", t), Catch::Contains("'all'"));
    CHECK_THROWS_WITH(capture::parse_config_text("sensor-timeout = soon\n", "g.conf", t), Catch::Contains("g.conf:1"));
    const auto& admin = capture::admin_only_keys();
    CHECK(std::find(admin.begin(), admin.end(), "ssh-command") != admin.end());
    CHECK(std::find(admin.begin(), admin.end(), "sensor-command") != admin.end());
}
