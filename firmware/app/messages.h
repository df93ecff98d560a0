/* GENERATED from host/messages.py by `python -m host.messages`: do not edit. */
/* Byte offset of each field of each fixed-layout message body, and its size
   (little-endian, no padding; docs/protocol.md). */
#ifndef FS_MESSAGES_H
#define FS_MESSAGES_H

/* INFO */
#define FS_BODY_INFO_PROTOCOL 0u /* u16 */
#define FS_BODY_INFO_FW_VERSION 2u /* u16 */
#define FS_BODY_INFO_CORE_HZ 4u /* u32 */
#define FS_BODY_INFO_ARENA_BYTES 8u /* u32 */
#define FS_BODY_INFO_MAX_BODY 12u /* u16 */
#define FS_BODY_INFO_SAMPLE_RATE 14u /* u32 */
#define FS_BODY_INFO_N_FFT 18u /* u16 */
#define FS_BODY_INFO_HOP 20u /* u16 */
#define FS_BODY_INFO_N_MELS 22u /* u16 */
#define FS_BODY_INFO_CONTEXT_FRAMES 24u /* u16 */
#define FS_BODY_INFO_FEATURE_KEY 26u /* bytes16 */
#define FS_BODY_INFO_MODEL_SHA256 42u /* bytes32 */
#define FS_BODY_INFO_SIZE 74u

/* RESULT */
#define FS_BODY_RESULT_SCORE 0u /* f32 */
#define FS_BODY_RESULT_DECISION 4u /* u8 */
#define FS_BODY_RESULT_FRAMES 5u /* u32 */
#define FS_BODY_RESULT_INFERENCES 9u /* u32 */
#define FS_BODY_RESULT_FRONTEND_CYCLES 13u /* u64 */
#define FS_BODY_RESULT_INFERENCE_CYCLES 21u /* u64 */
#define FS_BODY_RESULT_SCORING_CYCLES 29u /* u64 */
#define FS_BODY_RESULT_SIZE 37u

/* PROFILE_OP */
#define FS_BODY_PROFILE_OP_OP_CODE 0u /* u8 */
#define FS_BODY_PROFILE_OP_CYCLES 1u /* u32 */
#define FS_BODY_PROFILE_OP_SIZE 5u

/* MONITOR_BEGIN */
#define FS_BODY_MONITOR_BEGIN_MODE 0u /* u8 */
#define FS_BODY_MONITOR_BEGIN_LIVE 1u /* u8 */
#define FS_BODY_MONITOR_BEGIN_HOP_FRAMES 2u /* u16 */
#define FS_BODY_MONITOR_BEGIN_WINDOW_HOPS 4u /* u16 */
#define FS_BODY_MONITOR_BEGIN_START_SAMPLE 6u /* u64 */
#define FS_BODY_MONITOR_BEGIN_SIZE 14u

/* MONITOR_READY */
#define FS_BODY_MONITOR_READY_HOP_FRAMES 0u /* u16 */
#define FS_BODY_MONITOR_READY_WINDOW_HOPS 2u /* u16 */
#define FS_BODY_MONITOR_READY_MAX_HOPS 4u /* u16 */
#define FS_BODY_MONITOR_READY_AUDIO_RING_SAMPLES 6u /* u32 */
#define FS_BODY_MONITOR_READY_FRAME_SAMPLES 10u /* u32 */
#define FS_BODY_MONITOR_READY_START_SAMPLE 14u /* u64 */
#define FS_BODY_MONITOR_READY_SIZE 22u

/* DECISION */
#define FS_BODY_DECISION_INDEX 0u /* u32 */
#define FS_BODY_DECISION_END_SAMPLE 4u /* u64 */
#define FS_BODY_DECISION_SEGMENT_START 12u /* u64 */
#define FS_BODY_DECISION_SCORE 20u /* f32 */
#define FS_BODY_DECISION_DECISION 24u /* u8 */
#define FS_BODY_DECISION_WINDOW_FRAMES 25u /* u32 */
#define FS_BODY_DECISION_INFERENCES 29u /* u32 */
#define FS_BODY_DECISION_BUSY_CYCLES 33u /* u64 */
#define FS_BODY_DECISION_BUDGET_CYCLES 41u /* u64 */
#define FS_BODY_DECISION_OVERRUN_SAMPLES 49u /* u32 */
#define FS_BODY_DECISION_OVERRUNS 53u /* u16 */
#define FS_BODY_DECISION_SIZE 55u

#endif
