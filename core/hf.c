/*
 * hf.c: Hugging Face model directories (config.json + safetensors).
 * Not written yet: opening a directory is refused with a message saying so.
 */
#include "core/model.h"

int core_hf_load(struct core_model *m, const char *dir, struct bz_err *err)
{
    m->format = "hf";
    return bz_errf(err, BZ_EUNSUPPORTED, "%s: Hugging Face directories are not supported yet",
                   dir);
}
