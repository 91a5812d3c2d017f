# cmake -DDIR=console -DOUT=web_assets.c -P embed.cmake
# The staff console's static files as C arrays: accessgw-web is one binary with
# nothing to find at run time (no path differs between build tree and package).
file(GLOB files RELATIVE ${DIR} ${DIR}/*)
list(SORT files)
set(out "/* generated from gateway/web/console by embed.cmake: do not edit */\n#include <string.h>\n#include \"web.h\"\n")
set(table "")
set(i 0)
foreach(f ${files})
  file(READ ${DIR}/${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND out "static const unsigned char asset${i}[] = {${hex} 0};\n")
  if(f MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(f MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(f MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(f MATCHES "\\.png$")
    set(type "image/png")
  else()
    set(type "application/octet-stream")
  endif()
  string(APPEND table "    {\"/${f}\", \"${type}\", asset${i}, sizeof(asset${i}) - 1},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND out "static const struct web_asset assets[] = {\n${table}};\n")
string(APPEND out "const struct web_asset *web_asset_find(const char *path)\n{\n"
  "    for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)\n"
  "        if (strcmp(assets[i].path, path) == 0)\n"
  "            return &assets[i];\n"
  "    return NULL;\n}\n")
file(WRITE ${OUT}.tmp "${out}")
file(RENAME ${OUT}.tmp ${OUT})
