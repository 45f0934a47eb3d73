import type { TypedDocumentNode } from "@apollo/client";
import { gql } from "@apollo/client";

import type {
  DeleteImageData,
  IdVars,
  ImageDetailData,
  ImagesData,
  ImagesVars,
  ImageUpdatesData,
  ImageUpdatesVars,
  LimitsData,
  MutationFieldsData,
  StatsData,
  StatsVars,
  UploadImageData,
  UploadImageVars,
} from "./types";

export const IMAGE_CARD_FIELDS = gql`
  fragment ImageCardFields on Image {
    id
    filename
    status
    error
    thumbnailUrl
    placeholder
    dominantColor
    createdAt
  }
`;

export const IMAGES: TypedDocumentNode<ImagesData, ImagesVars> = gql`
  query Images($first: Int!, $after: String, $status: ImageStatus) {
    images(first: $first, after: $after, status: $status) {
      edges {
        cursor
        node {
          ...ImageCardFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${IMAGE_CARD_FIELDS}
`;

export const IMAGE_DETAIL: TypedDocumentNode<ImageDetailData, IdVars> = gql`
  query ImageDetail($id: ID!) {
    image(id: $id) {
      ...ImageCardFields
      contentType
      fileSize
      startedAt
      processedAt
      attempts
      width
      height
      format
      originalUrl
      srcset(format: WEBP)
      renditions {
        name
        width
        height
        format
        size
        url
      }
      metadata {
        width
        height
        format
        mode
        frameCount
        cameraMake
        cameraModel
        takenAt
        orientation
        hasGps
      }
    }
  }
  ${IMAGE_CARD_FIELDS}
`;

export const UPLOAD_IMAGE: TypedDocumentNode<UploadImageData, UploadImageVars> = gql`
  mutation UploadImage($file: Upload!) {
    uploadImage(file: $file) {
      ...ImageCardFields
    }
  }
  ${IMAGE_CARD_FIELDS}
`;

export const DELETE_IMAGE: TypedDocumentNode<DeleteImageData, IdVars> = gql`
  mutation DeleteImage($id: ID!) {
    deleteImage(id: $id)
  }
`;

// With ids: the current state first, then every change, completing when all are final.
// Without: every image's events, never completing. `image` keeps the cache current, so
// cards re-render by themselves when a thumbnail becomes ready.
export const IMAGE_UPDATES: TypedDocumentNode<ImageUpdatesData, ImageUpdatesVars> = gql`
  subscription ImageUpdates($ids: [ID!]) {
    imageUpdates(ids: $ids) {
      id
      status
      progress
      stage
      error
      image {
        ...ImageCardFields
      }
    }
  }
  ${IMAGE_CARD_FIELDS}
`;

export const STATS: TypedDocumentNode<StatsData, StatsVars> = gql`
  query Stats($throughputMinutes: Int!) {
    stats(throughputMinutes: $throughputMinutes) {
      counts {
        pending
        processing
        completed
        failed
        total
      }
      queue {
        name
        waiting
        consumers
        error
      }
      processing {
        completed
        averageS
        p95S
        endToEndP95S
      }
      throughput {
        minute
        completed
        failed
      }
    }
  }
`;

// What the server accepts: the upload panel refuses a file over them before sending it.
export const LIMITS: TypedDocumentNode<LimitsData, Record<string, never>> = gql`
  query Limits {
    limits {
      maxUploadBytes
      maxImagePixels
      maxFilesPerRequest
    }
  }
`;

// Which mutations this server has: the Retry button appears only where `retryImage` exists.
export const MUTATION_FIELDS: TypedDocumentNode<MutationFieldsData, Record<string, never>> = gql`
  query MutationFields {
    __type(name: "Mutation") {
      fields {
        name
      }
    }
  }
`;

export const ALL_OPERATIONS = {
  IMAGES,
  IMAGE_DETAIL,
  UPLOAD_IMAGE,
  DELETE_IMAGE,
  IMAGE_UPDATES,
  STATS,
  LIMITS,
  MUTATION_FIELDS,
};
