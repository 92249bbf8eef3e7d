# Finds the libraries genmem builds against; scripts/setup installs all of them from Debian.

find_package(Torch REQUIRED)
# The installed CMake package (cmake/genmemConfig.cmake.in) asks consumers for the same minimum.
set(GENMEM_BOOST_MIN_VERSION 1.74)
find_package(Boost ${GENMEM_BOOST_MIN_VERSION} REQUIRED COMPONENTS program_options)
find_package(tomlplusplus REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)

# libzip checks the CRC-32 of each entry of a model file, which LibTorch's reader skips.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)

find_path(LIBSVM_INCLUDE_DIR svm.h PATH_SUFFIXES libsvm REQUIRED)
find_library(LIBSVM_LIBRARY svm REQUIRED)
add_library(genmem_libsvm INTERFACE)
target_include_directories(genmem_libsvm INTERFACE ${LIBSVM_INCLUDE_DIR})
target_link_libraries(genmem_libsvm INTERFACE ${LIBSVM_LIBRARY})

# LibTorch's imported target carries its include paths and the _GLIBCXX_USE_CXX11_ABI flag.
# genmem_core links this target only in the build tree. The installed package defines
# genmem::torch in its place from the consumer's own find_package(Torch), so no absolute LibTorch
# paths from this machine are written into the exported targets. The opencv, libsvm and hdf5
# targets in this file are private dependencies of the shared libgenmem_core and are not exported.
add_library(genmem_torch INTERFACE)
target_link_libraries(genmem_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(genmem_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

# Debian's OpenCV component packages (libopencv-core-dev and friends) ship no CMake package; only
# the much larger libopencv-dev does, so the three libraries are found directly.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
add_library(genmem_opencv INTERFACE)
target_include_directories(genmem_opencv SYSTEM INTERFACE ${OPENCV_INCLUDE_DIR})
foreach(component core imgproc imgcodecs)
  find_library(OPENCV_${component}_LIBRARY opencv_${component} REQUIRED)
  target_link_libraries(genmem_opencv INTERFACE ${OPENCV_${component}_LIBRARY})
endforeach()

# HDF5's C library reads DeepMind's 3dshapes.h5. Debian's libhdf5-dev puts the serial build
# under hdf5/serial; FindHDF5 would need the C language enabled, so the library is found directly.
find_path(HDF5_INCLUDE_DIR hdf5.h PATH_SUFFIXES hdf5/serial REQUIRED)
find_library(HDF5_LIBRARY NAMES hdf5_serial hdf5 REQUIRED)
add_library(genmem_hdf5 INTERFACE)
target_include_directories(genmem_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIR})
target_link_libraries(genmem_hdf5 INTERFACE ${HDF5_LIBRARY})
