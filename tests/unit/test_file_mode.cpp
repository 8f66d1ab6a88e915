// The modes of what the tools write: parsing file-mode, the directories
// made for such files, setting a mode without following a link.
#include "capture/file_mode.hpp"

#include "test_support.hpp"

#include <sys/stat.h>
#include <unistd.h>

TEST_CASE("file modes are octal permissions the owner can read and write") {
    CHECK(capture::parse_file_mode("0640", "file-mode") == 0640);
    CHECK(capture::parse_file_mode("600", "file-mode") == 0600);
    CHECK(capture::parse_file_mode("0664", "file-mode") == 0664);
    CHECK_THROWS_WITH(capture::parse_file_mode("rw-r-----", "file-mode"),
                      "file-mode: 'rw-r-----' is not an octal mode (like 0640)");
    CHECK_THROWS_WITH(capture::parse_file_mode("0648", "file-mode"), Catch::Contains("not an octal mode"));
    CHECK_THROWS_WITH(capture::parse_file_mode("", "file-mode"), Catch::Contains("not an octal mode"));
    CHECK_THROWS_WITH(capture::parse_file_mode("4640", "file-mode"), Catch::Contains("setuid"));
    CHECK_THROWS_WITH(capture::parse_file_mode("0440", "file-mode"), Catch::Contains("owner read and write"));
    CHECK_THROWS_WITH(capture::parse_file_mode("0646", "file-mode"), Catch::Contains("others write"));
    CHECK(capture::format_file_mode(0640) == "0640");
    CHECK(capture::format_file_mode(0755) == "0755");
}

TEST_CASE("a directory may be searched wherever its files may be read") {
    CHECK(capture::directory_mode_for(0640) == 0750);
    CHECK(capture::directory_mode_for(0600) == 0700);
    CHECK(capture::directory_mode_for(0644) == 0755);
    CHECK(capture::directory_mode_for(0660) == 0770);
}

TEST_CASE("set_file_mode sets the mode and never follows a link") {
    test_support::temp_dir dir;
    std::string file = dir.file("a.pcap", "x");
    REQUIRE(::chmod(file.c_str(), 0600) == 0);
    capture::set_file_mode(file, 0644);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);

    std::string link = dir.path + "/link.pcap";
    REQUIRE(::symlink(file.c_str(), link.c_str()) == 0);
    CHECK_THROWS_WITH(capture::set_file_mode(link, 0600), Catch::StartsWith(link + ": "));
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
}
