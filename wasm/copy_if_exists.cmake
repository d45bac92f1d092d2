# cmake -DSRC=file -DDST=folder -P copy_if_exists.cmake: copies SRC into DST
# when it exists (the shipped model may not be trained yet).
if(EXISTS "${SRC}")
  file(COPY "${SRC}" DESTINATION "${DST}")
else()
  message(STATUS "no shipped model at ${SRC}: the page will ask for a model file")
endif()
