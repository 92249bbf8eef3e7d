# Finds the libraries genmem builds against; scripts/setup installs all of them from Debian.

find_package(Torch REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(tomlplusplus REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)

find_path(LIBSVM_INCLUDE_DIR svm.h PATH_SUFFIXES libsvm REQUIRED)
find_library(LIBSVM_LIBRARY svm REQUIRED)
add_library(genmem_libsvm INTERFACE)
target_include_directories(genmem_libsvm INTERFACE ${LIBSVM_INCLUDE_DIR})
target_link_libraries(genmem_libsvm INTERFACE ${LIBSVM_LIBRARY})

# LibTorch's imported target carries its include paths and the _GLIBCXX_USE_CXX11_ABI flag.
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
