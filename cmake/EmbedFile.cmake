# Writes the bytes of IN as a C++ array SYMBOL (with SYMBOL_size) into OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "// Generated from ${IN}; do not edit.\n#include <cstddef>\nextern const unsigned char ${SYMBOL}[] = {${body}};\nextern const std::size_t ${SYMBOL}_size = ${size};\n")
