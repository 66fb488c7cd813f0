import {
  addPartitionsToTxnV0,
  addPartitionsToTxnV1,
  addPartitionsToTxnV2,
  addPartitionsToTxnV3,
  endTxnV0,
  endTxnV1,
  endTxnV2,
  endTxnV3,
  endTxnV4,
  findCoordinatorV0,
  findCoordinatorV1,
  findCoordinatorV2,
  findCoordinatorV3,
  findCoordinatorV4,
  findCoordinatorV5,
  findCoordinatorV6,
  initProducerIdV0,
  initProducerIdV1,
  initProducerIdV2,
  initProducerIdV3,
  initProducerIdV4,
  initProducerIdV5
} from '@platformatic/kafka'

/**
 * The client library's request definitions kafka-dr's producers send, indexed by version (the
 * highest both broker and library know is taken). Capped where a newer version changes the
 * protocol kafka-dr speaks: AddPartitionsToTxn v4+ is broker-to-broker, EndTxn v5 is transaction
 * version 2 (not used, see transaction.ts).
 */
export const findCoordinatorApis = [
  findCoordinatorV0,
  findCoordinatorV1,
  findCoordinatorV2,
  findCoordinatorV3,
  findCoordinatorV4,
  findCoordinatorV5,
  findCoordinatorV6
]
export const initProducerIdApis = [
  initProducerIdV0,
  initProducerIdV1,
  initProducerIdV2,
  initProducerIdV3,
  initProducerIdV4,
  initProducerIdV5
]
export const addPartitionsApis = [
  addPartitionsToTxnV0,
  addPartitionsToTxnV1,
  addPartitionsToTxnV2,
  addPartitionsToTxnV3
]
export const endTxnApis = [endTxnV0, endTxnV1, endTxnV2, endTxnV3, endTxnV4]
