// Configuration precedence (file < environment < command line) and the
// refusal of bad lines, named by file and line.
#include "capture/cli.hpp"
#include "capture/config.hpp"

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
