// Built instead of mpi_comm.cpp when CMake finds no MPI: the binary runs as one process, and says so when mpirun
// starts it.
#include "dist/comm.h"

namespace tandem {

void connect_launched_ranks(int*, char***) {
  TANDEM_CHECK(!launched_by_mpirun(), "started by mpirun, but this tandem was built without MPI (apt-get install "
               "libopenmpi-dev openmpi-bin, then rebuild)");
}

void finalize_world() {}

}  // namespace tandem
