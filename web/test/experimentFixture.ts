// A real experiment's results (L4, three 2-level factors, 2 replicates, one
// brief; the offline model), as `experiment(id)` answers, with one run made
// to fail. Used by the page tests.

export const experimentFixture = {
  "id": "01a213a8-e212-75fb-aba3-25f2e9f797a3",
  "name": null,
  "target": "generate_draft",
  "environment": "production",
  "response": "score",
  "snType": "LARGER_IS_BETTER",
  "replicates": 2,
  "briefs": [
    {
      "prompt": "A quiet breakfast."
    }
  ],
  "array": "L4(2^3)",
  "arrayRuns": 4,
  "failedRuns": 1,
  "excludedRows": [],
  "grandMean": 46.5,
  "factors": [
    {
      "name": "candidates",
      "column": 0,
      "levels": [
        {
          "index": 0,
          "label": "candidates=1",
          "patch": {
            "candidates": 1
          }
        },
        {
          "index": 1,
          "label": "candidates=2",
          "patch": {
            "candidates": 2
          }
        }
      ]
    },
    {
      "name": "system_prompt",
      "column": 1,
      "levels": [
        {
          "index": 0,
          "label": "system_prompt=novelist",
          "patch": {
            "system_prompt": "novelist"
          }
        },
        {
          "index": 1,
          "label": "system_prompt=minimalist",
          "patch": {
            "system_prompt": "minimalist"
          }
        }
      ]
    },
    {
      "name": "temperature",
      "column": 2,
      "levels": [
        {
          "index": 0,
          "label": "temperature=0.3",
          "patch": {
            "temperature": 0.3
          }
        },
        {
          "index": 1,
          "label": "temperature=1.0",
          "patch": {
            "temperature": 1
          }
        }
      ]
    }
  ],
  "runs": [
    {
      "row": 0,
      "replicate": 0,
      "brief": 0,
      "levels": [
        0,
        0,
        0
      ],
      "config": {
        "candidates": 1,
        "system_prompt": "novelist",
        "temperature": 0.3
      },
      "score": 38.5,
      "words": 98,
      "promptTokens": 35,
      "completionTokens": 154,
      "costUsd": 0,
      "latencyMs": 7,
      "error": null
    },
    {
      "row": 0,
      "replicate": 1,
      "brief": 0,
      "levels": [
        0,
        0,
        0
      ],
      "config": {
        "candidates": 1,
        "system_prompt": "novelist",
        "temperature": 0.3
      },
      "score": 38.5,
      "words": 98,
      "promptTokens": 35,
      "completionTokens": 154,
      "costUsd": 0,
      "latencyMs": 8,
      "error": null
    },
    {
      "row": 1,
      "replicate": 0,
      "brief": 0,
      "levels": [
        0,
        1,
        1
      ],
      "config": {
        "candidates": 1,
        "system_prompt": "minimalist",
        "temperature": 1
      },
      "score": null,
      "words": 88,
      "promptTokens": 48,
      "completionTokens": 134,
      "costUsd": 0,
      "latencyMs": 9,
      "error": "model timed out after 60 s"
    },
    {
      "row": 1,
      "replicate": 1,
      "brief": 0,
      "levels": [
        0,
        1,
        1
      ],
      "config": {
        "candidates": 1,
        "system_prompt": "minimalist",
        "temperature": 1
      },
      "score": 42.5,
      "words": 88,
      "promptTokens": 48,
      "completionTokens": 134,
      "costUsd": 0,
      "latencyMs": 9,
      "error": null
    },
    {
      "row": 2,
      "replicate": 0,
      "brief": 0,
      "levels": [
        1,
        0,
        1
      ],
      "config": {
        "candidates": 2,
        "system_prompt": "novelist",
        "temperature": 1
      },
      "score": 47.5,
      "words": 117,
      "promptTokens": 423,
      "completionTokens": 492,
      "costUsd": 0,
      "latencyMs": 14,
      "error": null
    },
    {
      "row": 2,
      "replicate": 1,
      "brief": 0,
      "levels": [
        1,
        0,
        1
      ],
      "config": {
        "candidates": 2,
        "system_prompt": "novelist",
        "temperature": 1
      },
      "score": 47.5,
      "words": 117,
      "promptTokens": 423,
      "completionTokens": 492,
      "costUsd": 0,
      "latencyMs": 14,
      "error": null
    },
    {
      "row": 3,
      "replicate": 0,
      "brief": 0,
      "levels": [
        1,
        1,
        0
      ],
      "config": {
        "candidates": 2,
        "system_prompt": "minimalist",
        "temperature": 0.3
      },
      "score": 57.5,
      "words": 102,
      "promptTokens": 465,
      "completionTokens": 471,
      "costUsd": 0,
      "latencyMs": 14,
      "error": null
    },
    {
      "row": 3,
      "replicate": 1,
      "brief": 0,
      "levels": [
        1,
        1,
        0
      ],
      "config": {
        "candidates": 2,
        "system_prompt": "minimalist",
        "temperature": 0.3
      },
      "score": 57.5,
      "words": 102,
      "promptTokens": 465,
      "completionTokens": 471,
      "costUsd": 0,
      "latencyMs": 14,
      "error": null
    },
    {
      "row": null,
      "replicate": 0,
      "brief": 0,
      "levels": [],
      "config": {},
      "score": 41,
      "words": 113,
      "promptTokens": 620,
      "completionTokens": 628,
      "costUsd": 0,
      "latencyMs": 10,
      "error": null
    },
    {
      "row": null,
      "replicate": 1,
      "brief": 0,
      "levels": [],
      "config": {},
      "score": 41,
      "words": 113,
      "promptTokens": 620,
      "completionTokens": 628,
      "costUsd": 0,
      "latencyMs": 9,
      "error": null
    }
  ],
  "rowSummaries": [
    {
      "row": 0,
      "replicates": 2,
      "mean": 38.5,
      "stdDev": 0,
      "sn": 31.709214590170017
    },
    {
      "row": 1,
      "replicates": 2,
      "mean": 42.5,
      "stdDev": 0,
      "sn": 32.56777860100623
    },
    {
      "row": 2,
      "replicates": 2,
      "mean": 47.5,
      "stdDev": 0,
      "sn": 33.533872192497334
    },
    {
      "row": 3,
      "replicates": 2,
      "mean": 57.5,
      "stdDev": 0,
      "sn": 35.19335689379261
    }
  ],
  "mainEffects": [
    {
      "factor": "candidates",
      "deltaMean": 12,
      "deltaSn": 2.2251179475568534,
      "rankMean": 1,
      "rankSn": 1,
      "levels": [
        {
          "level": 0,
          "label": "candidates=1",
          "meanResponse": 40.5,
          "meanSn": 32.13849659558812,
          "observations": 4
        },
        {
          "level": 1,
          "label": "candidates=2",
          "meanResponse": 52.5,
          "meanSn": 34.363614543144976,
          "observations": 4
        }
      ]
    },
    {
      "factor": "system_prompt",
      "deltaMean": 7,
      "deltaSn": 1.2590243560657512,
      "rankMean": 2,
      "rankSn": 2,
      "levels": [
        {
          "level": 0,
          "label": "system_prompt=novelist",
          "meanResponse": 43,
          "meanSn": 32.621543391333674,
          "observations": 4
        },
        {
          "level": 1,
          "label": "system_prompt=minimalist",
          "meanResponse": 50,
          "meanSn": 33.880567747399425,
          "observations": 4
        }
      ]
    },
    {
      "factor": "temperature",
      "deltaMean": 3,
      "deltaSn": 0.40046034522952567,
      "rankMean": 3,
      "rankSn": 3,
      "levels": [
        {
          "level": 0,
          "label": "temperature=0.3",
          "meanResponse": 48,
          "meanSn": 33.45128574198131,
          "observations": 4
        },
        {
          "level": 1,
          "label": "temperature=1.0",
          "meanResponse": 45,
          "meanSn": 33.05082539675178,
          "observations": 4
        }
      ]
    }
  ],
  "anova": {
    "basis": "OBSERVATIONS",
    "observations": 8,
    "grandMean": 46.5,
    "totalSs": 404,
    "totalDf": 7,
    "errorSs": 0,
    "errorDf": 4,
    "errorMs": 0,
    "errorPercent": 0,
    "additive": true,
    "rows": [
      {
        "factor": "candidates",
        "df": 1,
        "ss": 288,
        "ms": 288,
        "f": null,
        "percent": 71.28712871287128,
        "pooled": false
      },
      {
        "factor": "system_prompt",
        "df": 1,
        "ss": 98,
        "ms": 98,
        "f": null,
        "percent": 24.257425742574256,
        "pooled": false
      },
      {
        "factor": "temperature",
        "df": 1,
        "ss": 18,
        "ms": 18,
        "f": null,
        "percent": 4.455445544554455,
        "pooled": false
      }
    ]
  },
  "anovaSn": {
    "basis": "SN_RATIOS",
    "observations": 4,
    "totalSs": 6.696660697807732,
    "totalDf": 3,
    "errorSs": 0.16036848810135088,
    "errorDf": 1,
    "errorMs": 0.16036848810135088,
    "errorPercent": 2.3947530767663094,
    "additive": true,
    "rows": [
      {
        "factor": "candidates",
        "df": 1,
        "ss": 4.951149880539624,
        "ms": 4.951149880539624,
        "f": 30.873583327733066,
        "percent": 73.9346086648898,
        "pooled": false
      },
      {
        "factor": "system_prompt",
        "df": 1,
        "ss": 1.5851423291667797,
        "ms": 1.5851423291667797,
        "f": 9.88437534040347,
        "percent": 23.670638258344244,
        "pooled": false
      },
      {
        "factor": "temperature",
        "df": 1,
        "ss": 0.16036848810135088,
        "ms": 0.16036848810135088,
        "f": null,
        "percent": 2.3947530767663094,
        "pooled": true
      }
    ],
    "grandMean": 33.25
  },
  "optimum": [
    {
      "factor": "candidates",
      "level": 1,
      "label": "candidates=2",
      "tiedLevels": []
    },
    {
      "factor": "system_prompt",
      "level": 1,
      "label": "system_prompt=minimalist",
      "tiedLevels": []
    },
    {
      "factor": "temperature",
      "level": 0,
      "label": "temperature=0.3",
      "tiedLevels": []
    }
  ],
  "optimalConfig": {
    "candidates": 2,
    "system_prompt": "minimalist",
    "temperature": 0.3
  },
  "prediction": {
    "score": 57.5,
    "sn": 34.99312672117785,
    "costUsd": 0,
    "latencyMs": 14,
    "factors": [
      "candidates",
      "system_prompt",
      "temperature"
    ]
  },
  "control": {
    "config": {},
    "deploymentId": null,
    "meanScore": 41,
    "meanCostUsd": 0,
    "meanLatencyMs": 9.5,
    "runs": 2,
    "failed": 0
  },
  "summary": "8 runs of L4(2^3) (4 rows \u00d7 2 replicates \u00d7 1 brief). What matters, by share of the variation in score: candidates (71%), system_prompt (24%). Best levels: candidates: candidates=2; system_prompt: system_prompt=minimalist; temperature: temperature=0.3. Predicted score at the optimum: 57.5, no model cost per draft. The current production config scored 41.0 on the same briefs at no model cost per draft; the optimum is predicted +16.5 points.",
  "notes": []
};
