// Unit tests for include/capture/tool/hash_tool.hpp (cap-hash's logic) and
// include/capture/sys/open_writers.hpp, which it uses to refuse live captures.
#include "capture/tool/hash_tool.hpp"
#include "capture/sys/open_writers.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

using namespace capture;

namespace {

using test_support::temp_dir;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string sha256_of(const std::string& content) { return hex_digest(content, digest_algorithm("sha256").md()); }

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// One call of run_hash, as the runner would make it, with string streams.
struct hash_call {
    std::vector<std::pair<std::string, std::string>> options;  // "" = a switch
    std::vector<std::string> operands;
    std::string input;
    output_mode mode = output_mode::records;
    bool verbose = false;
    audit_settings audit{false, LOG_USER, "/dev/log", ""};
};

struct hash_result {
    int status = -1;
    std::string out;
    std::string err;
};

hash_result run(const hash_call& call) {
    namespace po = boost::program_options;
    cli::context ctx;
    ctx.tool = "cap-hash";
    for (const auto& [name, value] : call.options) {
        boost::any v;
        if (name == "jobs") v = std::stoi(value);
        else if (!value.empty()) v = value;
        ctx.vm.insert({name, po::variable_value(v, false)});
    }
    ctx.operands = call.operands;
    ctx.output = call.mode;
    ctx.verbose = call.verbose;
    ctx.audit = audit_log(call.audit, "cap-hash");
    std::istringstream in(call.input);
    std::ostringstream out, err;
    ctx.in = &in;
    ctx.out = &out;
    ctx.err = &err;
    hash_result r;
    r.status = run_hash(ctx);
    r.out = out.str();
    r.err = err.str();
    return r;
}

// A process (sleep) holding path open with flags, as tcpdump holds a capture.
struct holder_process {
    pid_t pid = -1;
    holder_process(const std::string& path, int flags) {
        int sync[2];
        REQUIRE(::pipe2(sync, O_CLOEXEC) == 0);
        pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(sync[0]);
            if (::open(path.c_str(), flags) < 0) ::_exit(127);
            ::execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(sync[1]);
        char c;
        // EOF once exec has closed the pipe: the file is open by then.
        while (::read(sync[0], &c, 1) < 0 && errno == EINTR) {
        }
        ::close(sync[0]);
    }
    ~holder_process() {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
    }
};

// A syslog socket of our own, to see the audit lines.
struct syslog_listener {
    unique_fd fd;
    std::string path;
    explicit syslog_listener(const std::string& dir) : path(dir + "/log") {
        fd.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        REQUIRE(fd);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        path.copy(addr.sun_path, sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    std::vector<std::string> received() const {
        std::vector<std::string> out;
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0;) out.emplace_back(buf, n);
        return out;
    }
};

}  // namespace

// ---------------------------------------------------------------------------
// Formats

TEST_CASE("checksum lines are sha256sum's, escaped as sha256sum escapes", "[hash]") {
    CHECK(checksum_line("abcd", "x.pcap") == "abcd  x.pcap");
    CHECK(checksum_line("abcd", "a\\b\nc") == "\\abcd  a\\\\b\\nc");
    CHECK(check_result_line("x.pcap", "OK") == "x.pcap: OK");
    CHECK(check_result_line("a\nb", "FAILED") == "\\a\\nb: FAILED");
    CHECK(checksum_name_unescape("a\\\\b\\nc") == std::optional<std::string>("a\\b\nc"));
    CHECK_FALSE(checksum_name_unescape("a\\x"));
    CHECK_FALSE(checksum_name_unescape("a\\"));
}

TEST_CASE("checksum lines are parsed in sha256sum's and BSD's formats", "[hash]") {
    const std::string hex(64, 'a');
    auto text = parse_checksum_line(hex + "  some file.pcap");
    REQUIRE(text);
    CHECK(text->tag.empty());
    CHECK(text->hex == hex);
    CHECK(text->name == "some file.pcap");

    auto binary = parse_checksum_line(hex + " *x.pcap\r");
    REQUIRE(binary);
    CHECK(binary->name == "x.pcap");

    auto escaped = parse_checksum_line("\\" + hex + "  a\\\\b\\nc");
    REQUIRE(escaped);
    CHECK(escaped->name == "a\\b\nc");

    auto bsd = parse_checksum_line("SHA256 (x (1).pcap) = " + hex);
    REQUIRE(bsd);
    CHECK(bsd->tag == "SHA256");
    CHECK(bsd->name == "x (1).pcap");
    CHECK(bsd->hex == hex);

    auto openssl = parse_checksum_line("SHA2-256(x.pcap)= " + hex);  // openssl dgst
    REQUIRE(openssl);
    CHECK(openssl->tag == "SHA2-256");
    CHECK(openssl->name == "x.pcap");

    CHECK_FALSE(parse_checksum_line("/nsm/x.pcap"));
    CHECK_FALSE(parse_checksum_line(hex + "  "));
    CHECK_FALSE(parse_checksum_line(hex + "x  name"));
    CHECK_FALSE(parse_checksum_line("abcd  short.pcap"));
    CHECK_FALSE(parse_checksum_line("file=x.pcap\tsha256=" + hex));
    CHECK_FALSE(parse_checksum_line("desc=a (b) = " + hex));
    CHECK_FALSE(parse_checksum_line("\\" + hex + "  bad\\escape"));
}

// ---------------------------------------------------------------------------
// Hashing

TEST_CASE("records pass through with the digest added; order is kept across many files", "[hash]") {
    temp_dir dir;
    std::string input;
    std::vector<std::string> expected;
    // A large file first: the small ones behind it are hashed meanwhile,
    // but printed after it.
    for (int i = 0; i < 150; ++i) {
        std::string content(i == 0 ? 8 << 20 : (i * 7919) % 65536, static_cast<char>('a' + i % 26));
        std::string path = dir.file("f" + std::to_string(i) + ".pcap", content);
        input += "id=" + std::to_string(i) + "\tfile=" + path + "\tdesc=x y\n";
        expected.push_back("id=" + std::to_string(i) + "\tfile=" + path + "\tdesc=x y\tsha256=" + sha256_of(content));
    }
    for (const char* jobs : {"1", "4"}) {
        INFO("jobs " << jobs);
        auto r = run({{{"jobs", jobs}}, {}, input});
        CHECK(r.status == exit_ok);
        CHECK(r.err.empty());
        CHECK(lines_of(r.out) == expected);
    }
}

TEST_CASE("operands, bare paths, and the three output forms", "[hash]") {
    temp_dir dir;
    std::string a = dir.file("a.pcap", "abc");
    std::string hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    auto human = run({{}, {a}, "", output_mode::human});
    CHECK(human.out == hex + "  " + a + "\n");

    auto bare = run({{}, {}, a + "\n\n# comment\n"});
    CHECK(bare.out == "file=" + a + "\tsha256=" + hex + "\n");

    auto json = run({{}, {a}, "", output_mode::json});
    CHECK(json.out == "{\"file\":\"" + a + "\",\"sha256\":\"" + hex + "\"}\n");

    auto sha3 = run({{{"algo", "sha3-256"}}, {a}, ""});
    CHECK(sha3.out == "file=" + a + "\tsha3_256=3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532\n");

    // An existing digest is replaced, not repeated.
    auto again = run({{}, {}, "file=" + a + "\tsha256=old\tbytes=3\n"});
    CHECK(again.out == "file=" + a + "\tsha256=" + hex + "\tbytes=3\n");

    // The configuration's default applies when --algo is absent.
    cli::context ctx;
    ctx.config.algo = "md5";
    CHECK(hash_options_from(ctx).algo == "md5");
}

TEST_CASE("empty input is success with empty output", "[hash]") {
    auto r = run({{}, {}, ""});
    CHECK(r.status == exit_ok);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
    auto c = run({{{"check", ""}}, {}, ""});
    CHECK(c.status == exit_ok);
    CHECK(c.out.empty());
}

TEST_CASE("a file that fails is said, the rest are done, exit 1", "[hash]") {
    temp_dir dir;
    std::string a = dir.file("a", "abc");
    std::string b = dir.file("b", "");
    auto r = run({{{"jobs", "2"}}, {a, dir.path + "/missing", dir.path, b}, "", output_mode::human});
    CHECK(r.status == exit_failure);
    CHECK(lines_of(r.out).size() == 2);
    CHECK(r.err == "cap-hash: " + dir.path + "/missing: No such file or directory\n" + "cap-hash: " + dir.path +
                       ": Is a directory\n");
    auto no_file = run({{}, {}, "id=7\tanalyst=grant\n"});
    CHECK(no_file.status == exit_failure);
    CHECK(no_file.err == "cap-hash: record without a file key: id=7\tanalyst=grant\n");
}

TEST_CASE("bad options are usage errors", "[hash]") {
    CHECK_THROWS_AS(run({{{"algo", "nosuch"}}, {}, ""}), usage_error);
    CHECK_THROWS_AS(run({{{"algo", "nosuch"}, {"check", ""}}, {}, ""}), usage_error);
    CHECK_THROWS_AS(run({{{"jobs", "-1"}}, {}, ""}), usage_error);
    CHECK_THROWS_AS(run({{{"check", ""}, {"sidecar", ""}}, {}, ""}), usage_error);
    CHECK_THROWS_AS(run({{{"quiet", ""}}, {}, ""}), usage_error);
}

TEST_CASE("sidecar files are written atomically in sha256sum's format", "[hash]") {
    temp_dir dir;
    std::string a = dir.file("a b.pcap", "abc");
    auto r = run({{{"sidecar", ""}}, {a}, "", output_mode::human});
    CHECK(r.status == exit_ok);
    CHECK(read_file(a + ".sha256") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a b.pcap\n");
    CHECK(dir.entries() == std::vector<std::string>{"a b.pcap", "a b.pcap.sha256"});  // no temporary left

    // FILE.ALGO for another digest; an old sidecar is replaced.
    run({{{"sidecar", ""}, {"algo", "sha3-256"}}, {a}, ""});
    CHECK(read_file(a + ".sha3-256").size() == 64 + 2 + 8 + 1);
    run({{{"sidecar", ""}}, {a}, ""});
    CHECK(dir.entries().size() == 3);

    // A symbolic link planted where the sidecar goes is replaced, not followed.
    std::string victim = dir.file("victim", "keep");
    std::filesystem::remove(a + ".sha256");
    std::filesystem::create_symlink(victim, a + ".sha256");
    run({{{"sidecar", ""}}, {a}, ""});
    CHECK(read_file(victim) == "keep");
    CHECK_FALSE(std::filesystem::is_symlink(a + ".sha256"));

    // A sidecar that cannot be written fails the file, but its digest is given.
    if (::geteuid() != 0) {
        std::filesystem::permissions(dir.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
        auto denied = run({{{"sidecar", ""}}, {a}, ""});
        std::filesystem::permissions(dir.path, std::filesystem::perms::owner_all);
        CHECK(denied.status == exit_failure);
        CHECK(lines_of(denied.out).size() == 1);
        CHECK(denied.err == "cap-hash: " + a + ".sha256: Permission denied\n");
    }
}

// ---------------------------------------------------------------------------
// Checking

TEST_CASE("check: records, manifests, sidecars; good, bad and missing", "[hash][check]") {
    temp_dir dir;
    std::string a = dir.file("a.pcap", "abc");
    std::string b = dir.file("b.pcap", "bbb");
    std::string c = dir.file("c.pcap", "ccc");
    auto hashed = run({{}, {a, b, c}, ""});
    REQUIRE(hashed.status == exit_ok);

    SECTION("all good") {
        auto r = run({{{"check", ""}}, {}, hashed.out});
        CHECK(r.status == exit_ok);
        CHECK(r.out == a + ": OK\n" + b + ": OK\n" + c + ": OK\n");
        CHECK(r.err.empty());
        auto quiet = run({{{"check", ""}, {"quiet", ""}}, {}, hashed.out});
        CHECK(quiet.status == exit_ok);
        CHECK(quiet.out.empty());
    }

    SECTION("one changed, one missing") {
        dir.file("b.pcap", "bbB");
        std::filesystem::remove(c);
        auto r = run({{{"check", ""}, {"jobs", "3"}}, {}, hashed.out});
        CHECK(r.status == exit_failure);
        CHECK(r.out == a + ": OK\n" + b + ": FAILED\n" + c + ": FAILED open or read\n");
        CHECK(r.err == "cap-hash: " + c + ": No such file or directory\n" +
                           "cap-hash: WARNING: 1 listed file could not be read\n" +
                           "cap-hash: WARNING: 1 computed checksum did NOT match\n");

        auto records = run({{{"check", ""}, {"records", ""}}, {}, hashed.out});
        auto out = lines_of(records.out);
        REQUIRE(out.size() == 3);
        CHECK(out[0] == "file=" + a + "\tsha256=" + sha256_of("abc") + "\tverified=ok");
        CHECK(out[1] == "file=" + b + "\tsha256=" + sha256_of("bbb") + "\tverified=failed");
        CHECK(out[2] == "file=" + c + "\tsha256=" + sha256_of("ccc") + "\tverified=missing");

        auto quiet = run({{{"check", ""}, {"quiet", ""}}, {}, hashed.out});
        CHECK(quiet.out == b + ": FAILED\n" + c + ": FAILED open or read\n");
    }

    SECTION("a sha256sum manifest with the binary marker and BSD lines, from a file or stdin") {
        std::string manifest = sha256_of("abc") + "  " + a + "\n" + sha256_of("bbb") + " *" + b + "\n" +
                               "SHA256 (" + c + ") = " + sha256_of("ccc") + "\n";
        std::string m = dir.file("m", manifest);
        auto r = run({{{"check", ""}}, {m}, ""});
        CHECK(r.status == exit_ok);
        CHECK(r.out == a + ": OK\n" + b + ": OK\n" + c + ": OK\n");
        auto from_stdin = run({{{"check", ""}}, {}, manifest});
        CHECK(from_stdin.out == r.out);
        auto named_on_stdin = run({{{"check", ""}}, {}, m + "\n"});  // a bare path names a checksum file
        CHECK(named_on_stdin.out == r.out);
    }

    SECTION("a sidecar is resolved relative to its own directory") {
        REQUIRE(run({{{"sidecar", ""}}, {a}, ""}).status == exit_ok);
        auto r = run({{{"check", ""}}, {a + ".sha256"}, ""});
        CHECK(r.status == exit_ok);
        CHECK(r.out == a + ": OK\n");
    }

    SECTION("the digest is taken from the record key, a sidecar's extension or a BSD tag") {
        auto md5 = run({{{"algo", "md5"}}, {a}, ""});
        auto r = run({{{"check", ""}}, {}, md5.out});
        CHECK(r.status == exit_ok);
        CHECK(r.out == a + ": OK\n");

        REQUIRE(run({{{"sidecar", ""}, {"algo", "blake2b512"}}, {b}, ""}).status == exit_ok);
        CHECK(run({{{"check", ""}}, {b + ".blake2b512"}, ""}).out == b + ": OK\n");

        std::string blake = hex_digest("ccc", digest_algorithm("blake2b512").md());
        CHECK(run({{{"check", ""}}, {}, "BLAKE2b (" + c + ") = " + blake + "\n"}).out == c + ": OK\n");

        // A manifest of another digest needs --algo, as with sha256sum -c.
        std::string sha1 = hex_digest("ccc", digest_algorithm("sha1").md()) + "  " + c + "\n";
        CHECK(run({{{"check", ""}}, {}, sha1}).status == exit_failure);
        CHECK(run({{{"check", ""}, {"algo", "sha1"}}, {}, sha1}).out == c + ": OK\n");
    }

    SECTION("lines that are neither are counted and fail the run") {
        std::string input = hashed.out + "file=" + a + "\tnot a field\nfile=" + a + "\tid=3\n";
        auto r = run({{{"check", ""}}, {}, input});
        CHECK(r.status == exit_failure);
        CHECK(lines_of(r.out).size() == 3);
        CHECK(r.err == "cap-hash: WARNING: 2 lines are improperly formatted\n");
        auto verbose = run({{{"check", ""}}, {}, input, output_mode::records, true});
        CHECK_THAT(verbose.err, Catch::Contains("standard input:4: field 'not a field' is not key=value"));
        CHECK_THAT(verbose.err, Catch::Contains("standard input:5: record without a digest key"));

        std::string junk = dir.file("junk.txt", "hello\nworld\n");
        auto none = run({{{"check", ""}}, {junk}, ""});
        CHECK(none.status == exit_failure);
        CHECK_THAT(none.err, Catch::Contains(junk + ": no properly formatted checksum lines found"));
        auto absent = run({{{"check", ""}}, {dir.path + "/nope"}, ""});
        CHECK(absent.status == exit_failure);
        CHECK(absent.err == "cap-hash: " + dir.path + "/nope: No such file or directory\n");
    }
}

// ---------------------------------------------------------------------------
// Captures still being written

TEST_CASE("open_writers finds a file another process has open for writing", "[open_writers]") {
    temp_dir dir;
    std::string written = dir.file("written.pcap", "x");
    std::string read_only = dir.file("read.pcap", "y");
    holder_process writer(written, O_WRONLY | O_APPEND);
    holder_process reader(read_only, O_RDONLY);
    holder_process both(dir.file("rw.pcap", "z"), O_RDWR);

    open_writers scan = open_writers::scan();
    auto found = scan.find(written);
    REQUIRE(found);
    CHECK(found->pid == writer.pid);
    CHECK(found->command == "sleep");
    CHECK_FALSE(scan.find(read_only));
    CHECK(scan.find(dir.path + "/rw.pcap"));
    CHECK_FALSE(scan.find(dir.path + "/absent"));

    // Matched by inode: another name for the file is the same capture.
    std::filesystem::create_hard_link(written, dir.path + "/renamed.pcap");
    CHECK(scan.find(dir.path + "/renamed.pcap"));

    CHECK(open_writers::scan(dir.path + "/no-proc").size() == 0);
}

TEST_CASE("a capture still being written is refused unless --force", "[hash]") {
    temp_dir dir;
    std::string live = dir.file("live.pcap", "abc");
    std::string done = dir.file("done.pcap", "abc");
    {
        holder_process writer(live, O_WRONLY | O_APPEND);
        auto r = run({{}, {live, done}, ""});
        CHECK(r.status == exit_failure);
        CHECK(r.out == "file=" + done + "\tsha256=" + sha256_of("abc") + "\n");
        CHECK(r.err == "cap-hash: " + live + ": still being written by " + std::to_string(writer.pid) +
                           " (sleep); use --force to hash it anyway\n");

        auto forced = run({{{"force", ""}}, {live}, ""});
        CHECK(forced.status == exit_ok);
        CHECK(lines_of(forced.out).size() == 1);
    }
    // The record says so: believed even when no writer is visible (another
    // user's tcpdump cannot be seen without privilege).
    auto running = run({{}, {}, "file=" + done + "\tstate=running\n"});
    CHECK(running.status == exit_failure);
    CHECK(running.err == "cap-hash: " + done +
                             ": still being written (its record says state=running); use --force to hash it anyway\n");
    auto with_pid = run({{}, {}, "file=" + done + "\tstate=running\tpid=" + std::to_string(::getpid()) + "\n"});
    CHECK_THAT(with_pid.err, Catch::Contains("still being written by " + std::to_string(::getpid()) + " ("));
    auto stopped = run({{}, {}, "file=" + done + "\tstate=stopped\n"});
    CHECK(stopped.status == exit_ok);
}

// ---------------------------------------------------------------------------
// Audit and the pool

TEST_CASE("one audit line per file hashed and per file checked", "[hash][audit]") {
    temp_dir dir;
    syslog_listener listener(dir.path);
    std::string a = dir.file("a.pcap", "abc");
    audit_settings on{true, LOG_LOCAL3, listener.path, ""};

    hash_call hashing{{}, {a, dir.path + "/gone"}, ""};
    hashing.audit = on;
    auto r = run(hashing);
    CHECK(r.status == exit_failure);
    auto lines = listener.received();
    REQUIRE(lines.size() == 2);
    CHECK_THAT(lines[0], Catch::Contains("cap-hash["));
    CHECK_THAT(lines[0], Catch::Contains("action=hash outcome=ok"));
    CHECK_THAT(lines[0], Catch::EndsWith("file=" + a + " sha256=" + sha256_of("abc")));
    CHECK_THAT(lines[1], Catch::Contains("action=hash outcome=failed"));
    CHECK_THAT(lines[1], Catch::Contains("file=" + dir.path + "/gone"));

    hash_call checking{{{"check", ""}}, {}, r.out};
    checking.audit = on;
    run(checking);
    lines = listener.received();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::Contains("action=check outcome=ok"));
}
