/*
 * core.h: the model engine's public header: formats, tokenizers, chat templates,
 * forward, training. Modules outside core/ include only this file; it gathers the
 * engine's part headers, each of which documents one concept.
 */
#ifndef CORE_CORE_H
#define CORE_CORE_H

#include "core/bz.h"
#include "core/model.h"
#include "core/gguf.h"
#include "core/quant.h"
#include "core/safetensors.h"
#include "core/ops.h"
#include "core/optim.h"
#include "core/checkpoint.h"
#include "core/train.h"
#include "core/dpo.h"
#include "core/pool.h"
#include "core/lora.h"
#include "core/kernels.h"
#include "core/forward.h"
#include "core/sample.h"
#include "core/generate.h"
#include "core/tokenizer.h"
#include "core/template.h"

#endif
