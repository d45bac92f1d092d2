# cmake -DSRC=folder -DDST=folder -P copy_if_exists.cmake: copies SRC's .cgm
# files (the shipped models) into DST; none is not an error (the page then asks
# for a model file).
file(GLOB models "${SRC}/*.cgm")
if(models)
  file(COPY ${models} DESTINATION "${DST}")
else()
  message(STATUS "no shipped model in ${SRC}: the page will ask for a model file")
endif()
