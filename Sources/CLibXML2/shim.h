/* libxml2 pulls in the system ICU headers, whose UErrorCode clashes with
   Foundation's copy; EmoBake never needs ICU from libxml2, so switch it off
   before any other libxml header is read. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
