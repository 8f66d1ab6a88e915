// The modes of what the tools write: parsing file-mode, the directories
// made for such files, setting a mode without following a link.
#include "capture/sys/file_mode.hpp"

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

TEST_CASE("umask_for and make_directory_for give the configured modes whatever the umask") {
    test_support::temp_dir dir;
    const mode_t before = ::umask(0077);
    capture::umask_for(0644);
    const std::string made = dir.path + "/spool";
    capture::make_directory_for(made, 0644);
    capture::make_directory_for(made, 0644);  // there already: nothing to do
    std::string file = dir.file("spool/a.pcap", "");
    ::umask(before);
    struct stat st {};
    REQUIRE(::stat(made.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK_THROWS_WITH(capture::make_directory_for(dir.path + "/no/such", 0640), Catch::StartsWith(dir.path + "/no/such: "));
}
