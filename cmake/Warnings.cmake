# Compiler flags shared by every Sluice target: warnings, -Werror in the dev
# preset, and the sanitizers of the asan preset.
function(sluice_target_defaults target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
    if(SLUICE_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

if(SLUICE_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
endif()
