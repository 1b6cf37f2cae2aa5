# Install rules and the Debian package (CPack DEB), included at the end of the top-level
# CMakeLists.txt.
#   cmake --build build && (cd build && cpack -G DEB)     # or ./packaging/deb.sh
# The package installs:
#   /usr/bin/mainstay
#   /etc/mainstay/mainstay.yaml            (the only conffile; services_dir /etc/mainstay/services.d)
#   /etc/mainstay/services.d/              (empty: `systemctl enable --now mainstay` starts
#                                           nothing the administrator did not put there)
#   /lib/systemd/system/mainstay.service   (not enabled, not started by the package)
#   /usr/share/man/man1/mainstay.1.gz
#   /usr/share/doc/mainstay/README.md and copyright (Apache-2.0)
#   /usr/share/doc/mainstay/docs/          (docs/*.md and *.svg: the reference the README links to)
#   /usr/share/doc/mainstay/examples/services.d/   (the shipped services.d/, hooks/ executable:
#                                           copy what you want into /etc/mainstay/services.d)
#   /var/log/mainstay/                     (empty; the unit's LogsDirectory)
# Paths under /etc and /lib are absolute on purpose: Debian keeps them there whatever the
# prefix (CPACK_PACKAGING_INSTALL_PREFIX /usr holds the rest).

# cpack and `ninja install` build nothing first (else they would build every test): build the
# targets mainstay and mainstay_man, then run cpack, as packaging/deb.sh does.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS mainstay RUNTIME DESTINATION bin)

install(FILES ${PROJECT_SOURCE_DIR}/packaging/mainstay.yaml DESTINATION /etc/mainstay)
# services.d is installed empty: the package starts no service the administrator did not ask for.
install(DIRECTORY DESTINATION /etc/mainstay/services.d)
# The shipped services.d/ as examples, as it is: its service files, and the scripts under
# hooks/ (executable).
set(MAINSTAY_EXAMPLES share/doc/mainstay/examples/services.d)
file(GLOB_RECURSE MAINSTAY_SHIPPED_SERVICES CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/services.d
  ${PROJECT_SOURCE_DIR}/services.d/*)
list(SORT MAINSTAY_SHIPPED_SERVICES)
foreach(f IN LISTS MAINSTAY_SHIPPED_SERVICES)
  get_filename_component(dir ${f} DIRECTORY)
  if(dir MATCHES "^hooks")
    install(PROGRAMS ${PROJECT_SOURCE_DIR}/services.d/${f} DESTINATION ${MAINSTAY_EXAMPLES}/${dir})
  else()
    install(FILES ${PROJECT_SOURCE_DIR}/services.d/${f} DESTINATION ${MAINSTAY_EXAMPLES}/${dir})
  endif()
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION share/doc/mainstay)
# The pages the README links to (docs/configuration.md, operations.md, install.md, ...) and the
# plot they show, beside it so that its relative links resolve.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION share/doc/mainstay/docs
  FILES_MATCHING PATTERN "*.md" PATTERN "*.svg")
# The licence as Debian wants it (machine-readable, pointing at common-licenses/Apache-2.0).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright DESTINATION share/doc/mainstay)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/mainstay.service DESTINATION /lib/systemd/system)
install(DIRECTORY DESTINATION /var/log/mainstay)

# The man page, gzipped as Debian wants it (-n: no name or time stamp, so the build is
# reproducible).
set(MAINSTAY_MAN_GZ ${CMAKE_CURRENT_BINARY_DIR}/generated/man/mainstay.1.gz)
add_custom_command(
  OUTPUT ${MAINSTAY_MAN_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/generated/man
  COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/packaging/mainstay.1 ${CMAKE_CURRENT_BINARY_DIR}/generated/man/mainstay.1
  COMMAND gzip -9 -n -f ${CMAKE_CURRENT_BINARY_DIR}/generated/man/mainstay.1
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/mainstay.1
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(mainstay_man ALL DEPENDS ${MAINSTAY_MAN_GZ})
install(FILES ${MAINSTAY_MAN_GZ} DESTINATION share/man/man1)

# Every file under /etc is a conffile (an upgrade keeps the administrator's edits): only the
# main file, services.d being empty.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/generated/deb/conffiles "/etc/mainstay/mainstay.yaml\n")

set(CPACK_PACKAGE_NAME mainstay)
set(CPACK_PACKAGE_VENDOR "mainstay")
set(CPACK_PACKAGE_CONTACT "mainstay maintainers <maintainers@mainstay.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "startup supervisor that keeps starting in degraded mode")
set(CPACK_PACKAGE_DESCRIPTION "mainstay reads YAML service definitions, launches and health-probes each service, \
keeps starting in degraded mode when a dependency fails, and recovers in the background: \
retries with backoff, circuit breakers, a safety valve and capability upgrades. \
It runs as PID 1 in a container or as a systemd service (Type=notify, watchdog, reload on SIGHUP).")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends computed by dpkg-shlibdeps (package dpkg-dev) from the binary's shared libraries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_BINARY_DIR}/generated/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# No maintainer scripts: installing the package starts nothing (enable the unit yourself).
include(CPack)
