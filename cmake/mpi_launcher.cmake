# What the tests pass the MPI launcher, which differs between MPI implementations: Open MPI's
# mpirun refuses more ranks than cores and refuses root (CI runs as root in a container) unless
# told, binds ranks to cores by default and exports variables with -x; MPICH's Hydra mpiexec
# oversubscribes, runs as root and leaves ranks unbound as it is, and exports with -genv.
#
#   CONVOY_MPI_FLAVOR              openmpi or mpich (from the library's version string)
#   CONVOY_MPIRUN_FLAGS            the list: any number of ranks on any cores, as root
#   CONVOY_MPIRUN_ONE_THREAD       the same plus unbound ranks of one OpenMP thread each, as one
#                                  string for the end-to-end tests' command lines
if(MPI_CXX_LIBRARY_VERSION_STRING MATCHES "MPICH")
  set(CONVOY_MPI_FLAVOR mpich)
  set(CONVOY_MPIRUN_FLAGS "")
  set(CONVOY_MPIRUN_ONE_THREAD "-genv OMP_NUM_THREADS 1")
else()
  set(CONVOY_MPI_FLAVOR openmpi)
  set(CONVOY_MPIRUN_FLAGS --oversubscribe --allow-run-as-root)
  set(CONVOY_MPIRUN_ONE_THREAD "--oversubscribe --allow-run-as-root --bind-to none -x OMP_NUM_THREADS=1")
endif()
if(CONVOY_SANITIZE)
  # Ranks of a sanitized build keep ASan and UBSan but not leak detection: Open MPI keeps memory
  # until exit in the components it dlopens, and no suppression can name those frames
  # (.ci/README.md). The launcher passes the setting on to every rank.
  if(CONVOY_MPI_FLAVOR STREQUAL mpich)
    string(APPEND CONVOY_MPIRUN_ONE_THREAD " -genv ASAN_OPTIONS detect_leaks=0")
  else()
    string(APPEND CONVOY_MPIRUN_ONE_THREAD " -x ASAN_OPTIONS=detect_leaks=0")
  endif()
endif()
message(STATUS "MPI: ${CONVOY_MPI_FLAVOR} (${MPIEXEC_EXECUTABLE})")
