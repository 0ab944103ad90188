# Every dependency is a Debian 12 package (scripts/install-deps.sh); nothing is downloaded.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(yaml-cpp REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PostgreSQL REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET lua5.4)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
# Time zones (cron schedules, change windows): Howard Hinnant's date with the system tzdb.
find_package(date CONFIG REQUIRED)
