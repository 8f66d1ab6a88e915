// Unit tests for include/capture/sys/digest.hpp.
#include "capture/sys/digest.hpp"
#include "capture/text/record.hpp"

#include <catch2/catch.hpp>

#include "test_support.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>

using namespace capture;

namespace {

// A private directory removed at the end of the test.
using test_support::temp_dir;

struct vector_case {
    const char* algo;
    const char* abc;
    const char* empty;
};

// FIPS 180-4, RFC 1321, FIPS 202 and RFC 7693 test vectors.
const vector_case known_answers[] = {
    {"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"md5", "900150983cd24fb0d6963f7d28e17f72", "d41d8cd98f00b204e9800998ecf8427e"},
    {"sha3-256", "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
     "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"},
    {"blake2b512",
     "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab"
     "92386edd4009923",
     "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d5"
     "6f701afe9be2ce"},
};

}  // namespace

TEST_CASE("known answers for \"abc\" and the empty string, in memory and from files", "[digest]") {
    temp_dir dir;
    std::string abc = dir.file("abc", "abc");
    std::string empty = dir.file("empty", "");
    for (const auto& v : known_answers) {
        INFO(v.algo);
        digest_algorithm algo(v.algo);
        CHECK(hex_digest("abc", algo.md()) == v.abc);
        CHECK(hex_digest("", algo.md()) == v.empty);
        CHECK(hex_digest_of_file(abc, algo.md()) == v.abc);
        CHECK(hex_digest_of_file(empty, algo.md()) == v.empty);
        CHECK(algo.size() * 2 == std::string(v.abc).size());
    }
}

TEST_CASE("a file longer than the read buffer hashes as the whole", "[digest]") {
    temp_dir dir;
    std::string content;
    for (int i = 0; i < 100000; ++i) content += static_cast<char>(i * 7 + i / 251);
    std::string path = dir.file("big", content);
    digest_algorithm algo("sha256");
    file_hasher tiny(7);  // many reads, the last one short
    CHECK(tiny.hex_digest_of_file(path, algo.md()) == hex_digest(content, algo.md()));
    file_hasher normal;
    CHECK(normal.hex_digest_of_file(path, algo.md()) == hex_digest(content, algo.md()));
    // The hasher is reusable, also across algorithms.
    digest_algorithm md5("md5");
    CHECK(normal.hex_digest_of_file(path, md5.md()) == hex_digest(content, md5.md()));
    CHECK(normal.hex_digest_of_file(path, algo.md()) == hex_digest(content, algo.md()));
}

TEST_CASE("digest names: lookup, record keys, sidecar names and BSD tags", "[digest]") {
    digest_algorithm sha3("sha3-256");
    CHECK(sha3.name() == "sha3-256");
    CHECK(sha3.key() == "sha3_256");
    CHECK(sha3.tag() == "SHA3-256");

    // Any case, and a record key, name the same digest.
    CHECK(digest_algorithm("SHA256").name() == "sha256");
    CHECK(digest_algorithm("sha3_256").name() == "sha3-256");
    CHECK(digest_algorithm("SHA2-256").key() == "sha256");
    CHECK(digest_algorithm("blake2b512").key() == "blake2b512");
    CHECK(digest_algorithm("sha512-256").key() == "sha512_256");
    CHECK(digest_algorithm("md5").tag() == "MD5");

    CHECK(is_valid_key(digest_algorithm("sha3-512").key()));
    CHECK(digest_key_of("SHA3-256") == "sha3_256");
}

TEST_CASE("an unknown digest is a usage error naming it, OpenSSL's words and valid names", "[digest]") {
    try {
        digest_algorithm bogus("nosuchdigest");
        FAIL("no exception");
    } catch (const usage_error& e) {
        std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("'nosuchdigest'"));
        CHECK_THAT(what, Catch::Contains("unsupported"));  // OpenSSL 3's reason
        CHECK_THAT(what, Catch::Contains("sha256"));
        CHECK_THAT(what, Catch::Contains("blake2b512"));
    }
    CHECK_THROWS_AS(digest_algorithm(""), usage_error);
    CHECK_THROWS_AS(digest_algorithm(std::string(100, 'a')), usage_error);
    // Nothing is left in OpenSSL's queue to confuse the next error.
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("file errors carry the path and the system's words", "[digest]") {
    temp_dir dir;
    digest_algorithm algo("sha256");
    CHECK_THROWS_WITH(hex_digest_of_file(dir.path + "/absent", algo.md()),
                      dir.path + "/absent: No such file or directory");
    CHECK_THROWS_WITH(hex_digest_of_file(dir.path, algo.md()), dir.path + ": Is a directory");
}

TEST_CASE("hex helpers", "[digest]") {
    const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    CHECK(to_hex(bytes, 4) == "000fa5ff");
    CHECK(is_hex("00aAfF"));
    CHECK_FALSE(is_hex(""));
    CHECK_FALSE(is_hex("00g0"));
    CHECK(hex_equal("ABCdef", "abcDEF"));
    CHECK_FALSE(hex_equal("abc", "abcd"));
    CHECK_FALSE(hex_equal("abce", "abcd"));
}

TEST_CASE("the owners are move-only", "[digest]") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<digest_algorithm>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<digest_algorithm>);
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<md_ctx_ptr>);
    digest_algorithm a("sha1");
    digest_algorithm b(std::move(a));
    CHECK(hex_digest("abc", b.md()) == "a9993e364706816aba3e25717850c26c9cd0d89d");
    md_ctx_ptr ctx = make_md_ctx();
    CHECK(ctx != nullptr);
}

TEST_CASE("a digest made piece by piece is the digest of the whole", "[digest]") {
    digest_algorithm sha256("sha256");
    std::string whole;
    for (int i = 0; i < 100000; ++i) whole += static_cast<char>(i * 31);
    stream_digest d(sha256.md());
    for (std::size_t at = 0, step = 1; at < whole.size(); at += step, step = step * 3 % 70001 + 1)
        d.update(whole.data() + at, std::min(step, whole.size() - at));
    d.update(nullptr, 0);  // nothing, from nowhere: allowed
    CHECK(d.bytes() == whole.size());
    CHECK(d.hex() == hex_digest(whole, sha256.md()));
    CHECK(d.hex() == hex_digest(whole, sha256.md()));  // asked again: the same
    CHECK_THROWS_WITH(d.update("x", 1), Catch::Contains("already finished"));
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<stream_digest>);
}

TEST_CASE("a digest tap digests what it saw; an unknown digest is said when asked", "[digest]") {
    digest_tap tap;
    write_tap& as_tap = tap;
    const std::uint8_t a[] = {'a'}, bc[] = {'b', 'c'};
    as_tap.saw(a, 1);
    as_tap.saw(bc, 2);
    CHECK(tap.bytes() == 3);
    CHECK(tap.hex() == known_answers[0].abc);
    digest_tap none;
    CHECK(none.hex() == known_answers[0].empty);
    CHECK(none.bytes() == 0);
    digest_tap md5("md5");
    md5.saw(a, 1);
    md5.saw(bc, 2);
    CHECK(md5.hex() == known_answers[2].abc);
    digest_tap bogus("no-such-digest");
    bogus.saw(a, 1);  // throws nothing
    CHECK_THROWS_WITH(bogus.hex(), Catch::Contains("no-such-digest"));
}
