# CUDA is compiled whenever nvcc is there (CI has no GPU but compiles every kernel).
# Hopper gets sm_90a code (wgmma, TMA, setmaxnreg need the "a" target).
if(FASTWAN_CUDA STREQUAL "AUTO")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER AND NOT FASTWAN_SANITIZE)
    set(FASTWAN_CUDA ON)
  else()
    set(FASTWAN_CUDA OFF)
  endif()
endif()
if(FASTWAN_CUDA)
  enable_language(CUDA)
  # CMake 3.25 does not know nvcc 13's C++20 flag; tell it, so C++20 targets can hold CUDA sources.
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA_STANDARD 20)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  set(CMAKE_CUDA_ARCHITECTURES OFF)
  # One fat binary for the GPUs FastWan-QAD's users own: A100 (80), RTX 30xx / A10 (86), RTX 40xx / L40 (89),
  # H100 / H200 (90a), B200 (100), RTX 50xx (120), plus PTX of the newest for later GPUs. The Hopper kernels
  # (wgmma, TMA, setmaxnreg) are compiled for sm_90a only (FASTWAN_CUDA_HOPPER_GENCODE, src/CMakeLists.txt).
  set(FASTWAN_CUDA_ARCHS "80;86;89;90a;100;120" CACHE STRING "GPU architectures of the portable CUDA code")
  set(FASTWAN_CUDA_GENCODE "")
  foreach(arch IN LISTS FASTWAN_CUDA_ARCHS)
    string(APPEND FASTWAN_CUDA_GENCODE " -gencode=arch=compute_${arch},code=sm_${arch}")
  endforeach()
  list(GET FASTWAN_CUDA_ARCHS -1 _newest)
  string(APPEND FASTWAN_CUDA_GENCODE " -gencode=arch=compute_${_newest},code=compute_${_newest}")
  string(STRIP "${FASTWAN_CUDA_GENCODE}" FASTWAN_CUDA_GENCODE)
  set(FASTWAN_CUDA_HOPPER_GENCODE "-gencode=arch=compute_90a,code=sm_90a")
  # What `fastwan --version` and `info` list: "sm_80 sm_86 ... sm_120 compute_120".
  list(TRANSFORM FASTWAN_CUDA_ARCHS PREPEND "sm_" OUTPUT_VARIABLE _sm_names)
  list(JOIN _sm_names " " FASTWAN_CUDA_ARCH_NAMES)
  string(APPEND FASTWAN_CUDA_ARCH_NAMES " compute_${_newest}")
  separate_arguments(_gencode UNIX_COMMAND "${FASTWAN_CUDA_GENCODE}")
  set(FASTWAN_CUDA_COMMON_FLAGS --expt-relaxed-constexpr -lineinfo)
  add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:${_gencode};${FASTWAN_CUDA_COMMON_FLAGS}>")
  # cuDNN (shipped with the CUDA toolkit's library folder here and on the GPU machine): the decoders'
  # convolutions.
  find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  message(STATUS "fastwan: CUDA backend ON (${FASTWAN_CUDA_ARCH_NAMES}), cuDNN ${CUDNN_LIBRARY}")
else()
  message(STATUS "fastwan: CUDA backend OFF")
endif()
