#include "quant/modes.h"

#include <array>
#include <utility>

namespace fastwan::quant {
namespace {

constexpr std::array<std::pair<LinearMode, std::string_view>, 4> kLinear{{{LinearMode::bf16, "bf16"},
                                                                          {LinearMode::fp8, "fp8"},
                                                                          {LinearMode::fp8_row, "fp8-row"},
                                                                          {LinearMode::nvfp4, "nvfp4"}}};
constexpr std::array<std::pair<AttentionMode, std::string_view>, 3> kAttention{
    {{AttentionMode::bf16, "bf16"}, {AttentionMode::sage8, "sage8"}, {AttentionMode::fp4, "fp4"}}};
constexpr std::array<std::pair<KernelChoice, std::string_view>, 3> kKernels{
    {{KernelChoice::automatic, "auto"},
     {KernelChoice::hopper, "hopper"},
     {KernelChoice::portable, "portable"}}};

}  // namespace

Expected<LinearMode> parse_linear_mode(std::string_view name) {
  for (const auto& [mode, text] : kLinear)
    if (text == name) return mode;
  return Error("--linear " + std::string(name) + ": unknown mode (expected " +
               std::string(linear_mode_values()) + ")");
}

Expected<AttentionMode> parse_attention_mode(std::string_view name) {
  for (const auto& [mode, text] : kAttention)
    if (text == name) return mode;
  return Error("--attention " + std::string(name) + ": unknown mode (expected " +
               std::string(attention_mode_values()) + ")");
}

Expected<KernelChoice> parse_kernel_choice(std::string_view name) {
  for (const auto& [choice, text] : kKernels)
    if (text == name) return choice;
  return Error("--kernels " + std::string(name) + ": unknown kernel set (expected auto, hopper or portable)");
}

std::string_view kernel_choice_name(KernelChoice choice) {
  for (const auto& [c, text] : kKernels)
    if (c == choice) return text;
  return "?";
}

std::string_view linear_mode_name(LinearMode mode) {
  for (const auto& [m, text] : kLinear)
    if (m == mode) return text;
  return "?";
}

std::string_view attention_mode_name(AttentionMode mode) {
  for (const auto& [m, text] : kAttention)
    if (m == mode) return text;
  return "?";
}

std::string_view linear_mode_values() {
  return "bf16, fp8, fp8-row or nvfp4";
}

std::string_view attention_mode_values() {
  return "bf16, sage8 or fp4";
}

std::string ModelOptions::describe() const {
  std::string text = "linear " + std::string(linear_mode_name(linear)) + ", attention " +
                     std::string(attention_mode_name(attention));
  if (kernels != KernelChoice::automatic) text += ", kernels " + std::string(kernel_choice_name(kernels));
  return text;
}

}  // namespace fastwan::quant
